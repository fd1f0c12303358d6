"""The readable fallback of a widget: its display bundle carries plain text and HTML beside the
widget, so JupyterLab draws the widget and a viewer without widgets (GitHub, nbviewer, a docs
site, a terminal, nbval's comparison) shows the text or the HTML instead of a bare repr.

A view displayed in IPython gets a display id; when its run ends (``update_displays``) the saved
output is replaced by one whose text and HTML show the view's final state, so a notebook saved
after the run shows what the run did, not the empty view it displayed before it started.
"""

from __future__ import annotations

import html
import itertools
from typing import Any

_display_ids = itertools.count(1)


class TextFallback:
    """Mixin for a widget class (put it first among the bases): ``to_text()`` and ``to_html()``
    go into the display bundle. ``to_html()`` is the text in a <pre> unless a view draws better."""

    def to_text(self) -> str:
        return repr(self)

    def to_html(self) -> str:
        return f"<pre>{html.escape(self.to_text())}</pre>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)  # anywidget adds metadata
        data = {**data, "text/plain": self.to_text(), "text/html": self.to_html()}
        return data if metadata is None else (data, metadata)

    def _ipython_display_(self) -> None:
        """Display the bundle under a display id of this view's, to update when its run ends."""
        from IPython.display import display

        ids = self.__dict__.setdefault("_golemsim_display_ids", [])
        ids.append(f"golemsim-view-{next(_display_ids)}")
        data, metadata = self._bundle()
        display(data, raw=True, metadata=metadata, display_id=ids[-1])  # type: ignore[no-untyped-call]

    def update_displays(self) -> None:
        """Show the view's state now in every output that displayed it (its widget, text and HTML).
        Views call it when a run ends; it does nothing for a view never displayed in IPython."""
        ids: list[str] = self.__dict__.get("_golemsim_display_ids", [])
        if not ids:
            return
        from IPython.display import update_display

        data, metadata = self._bundle()
        for display_id in ids:
            update_display(data, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]

    def _bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = self._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        return data, metadata or {}
