"""Redrawing at a human pace: a view notes what changed as events come, and draws when a
little wall-clock time has passed (and once more at the end of a run).

Wall time decides only *when* a view is drawn, never what the simulation does, so runs stay
deterministic; the last drawing of a run always shows its final state.
"""

from __future__ import annotations

import time

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
