"""Redrawing at a human pace: a view notes what changed as events come, and draws when a
little wall-clock time has passed (and once more at the end of a run).

Wall time decides only *when* a view is drawn, never what the simulation does, so runs stay
deterministic; the last drawing of a run always shows its final state.
"""

from __future__ import annotations

import time
from typing import Any

FRAME_SECONDS = 0.15
"""Wall-clock seconds between two drawings of one view while a run goes."""


class Pacer:
    """Says whether it is time to draw again."""

    def __init__(self, every: float = FRAME_SECONDS) -> None:
        self.every = every
        self._last = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            return True
        return False


def with_fallback(bundle: Any, text: str, html: str) -> Any:
    """A widget's display bundle (a dict, or a (data, metadata) pair) with its own text and HTML
    in place of the default repr.

    JupyterLab and Notebook draw the widget; a viewer without widgets (GitHub, nbviewer, a
    terminal, nbval's comparison) shows the text or the HTML."""
    data, metadata = bundle if isinstance(bundle, tuple) else (bundle, None)
    data = {**data, "text/plain": text, "text/html": html}
    return data if metadata is None else (data, metadata)
