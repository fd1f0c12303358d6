"""Long steps made visible: a line on the ``golemsim.progress`` logger, or a display installed from outside.

A template build (componentize-py) and a first compile (wasmtime) take seconds and report no progress of their
own. The core needs no widget library: a front end installs a step display with ``show_steps_with`` (``golemsim``
installs its Jupyter bar, ``golemsim.kernel_progress``); where it shows nothing, the step is one logger line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

progress = logging.getLogger("golemsim.progress")


class ShownStep(Protocol):
    """A step on display, told how it ended."""

    def finish(self, *, ok: bool) -> None: ...


StepDisplay = Callable[[str, float], "ShownStep | None"]
"""Shows a step (what, usual upper bound in seconds), or returns None to leave it to the logger."""

_display: StepDisplay | None = None


def show_steps_with(display: StepDisplay | None) -> None:
    """Install ``display`` for the long steps that follow (None: the logger line only)."""
    global _display
    _display = display


@contextmanager
def long_step(what: str, usual: tuple[float, float], note: str = "cached afterwards") -> Iterator[None]:
    """Report a step that takes ``usual`` (low, high) seconds: on the installed display, else one logger line.

    ``what`` reads like "building template counter"; ``note`` ends the logger line."""
    shown = _display(what, usual[1]) if _display is not None else None
    if shown is None:
        progress.info("%s (%g-%g s; %s) ...", what, usual[0], usual[1], note)
        yield
        return
    try:
        yield
    except BaseException:
        shown.finish(ok=False)
        raise
    shown.finish(ok=True)
