"""The readable fallback of a widget: its display bundle carries plain text and HTML beside the
widget, so JupyterLab draws the widget and a viewer without widgets (GitHub, nbviewer, a
terminal, nbval's comparison) shows the text or the HTML instead of a bare repr."""

from __future__ import annotations

import html
from typing import Any


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
