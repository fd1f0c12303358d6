"""The readable fallback of a widget: its display bundle carries plain text and HTML beside the
widget, so JupyterLab draws the widget and a viewer without widgets (GitHub, nbviewer, a docs
site, a terminal, nbval's comparison) shows the text or the HTML instead of a bare repr.

A view displayed before its run ends shows no final state yet: its bundle then has the widget
and plain text only, and when the run ends (``update_displays``) the output gets a picture of
the final state (PNG), which GitHub and docs sites show. The text stays as it was displayed: nbval
compares an output's text and HTML with what running the cell gives (it applies no display
updates) and never compares PNG, so an executed notebook still passes ``--nbval``.
"""

from __future__ import annotations

import base64
import html
import itertools
from typing import Any

from . import pictures

_display_ids = itertools.count(1)


class TextFallback:
    """Mixin for a widget class (put it first among the bases): ``to_text()`` and ``to_html()``
    go into the display bundle. ``to_html()`` is the text in a <pre> unless a view draws better."""

    final_state = False
    """True once the view shows a finished run (or what it read from an executor)."""

    def to_text(self) -> str:
        return repr(self)

    def to_html(self) -> str:
        return f"<pre>{html.escape(self.to_text())}</pre>"

    def picture(self) -> bytes:
        """A PNG picture of the view now (the text drawn, unless a view draws better)."""
        return pictures.text_png(self.to_text())

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)  # anywidget adds metadata
        data = {**data, "text/plain": self.to_text()}
        if self.final_state:
            data["text/html"] = self.to_html()
        return data if metadata is None else (data, metadata)

    def _ipython_display_(self) -> None:
        """Display the bundle under a display id of this view's, to update when its run ends."""
        from IPython.display import display

        data, metadata = self._bundle()
        shown = self.__dict__.setdefault("_golemsim_displays", {})
        display_id = f"golemsim-view-{next(_display_ids)}"
        shown[display_id] = {k: v for k, v in data.items() if k in ("text/plain", "text/html")}
        display(data, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]

    def update_displays(self) -> None:
        """Add a picture of the view now to every output that displayed it (the widget in it
        redraws by itself). Views call it when a run ends; it does nothing for a view never
        displayed in IPython."""
        shown: dict[str, dict[str, str]] = self.__dict__.get("_golemsim_displays", {})
        if not shown:
            return
        from IPython.display import update_display

        data, metadata = self._bundle()
        picture = self.picture()
        metadata = {**metadata, "image/png": pictures.width_hint(picture)}
        for display_id, texts in shown.items():
            widget = {k: v for k, v in data.items() if k not in ("text/plain", "text/html")}
            update = {**widget, "image/png": base64.b64encode(picture).decode("ascii"), **texts}
            update_display(update, raw=True, metadata=metadata, display_id=display_id)  # type: ignore[no-untyped-call]

    def _bundle(self) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = self._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        return data, dict(metadata or {})
