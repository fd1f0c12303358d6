"""Long steps made visible: a progress bar in a Jupyter kernel, a line on the ``golemsim.progress`` logger elsewhere.

A template build (componentize-py) and a first compile (wasmtime) take seconds and report no progress of their
own, so the bar fills with the time elapsed against the step's usual duration and says how long it took at the end.
The bar is an ipywidgets widget, imported only when a kernel shows one (golemsim.core needs no widget library;
without ipywidgets a kernel gets the logger line, as the command line does). Its display carries only the widget
view, no text form, so a notebook's recorded text outputs (which nbval compares) do not depend on whether the
caches were warm.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

progress = logging.getLogger("golemsim.progress")

TICK_SECONDS = 0.5
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def in_kernel() -> bool:
    """True when this code runs in a Jupyter (ipykernel) kernel."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


@contextmanager
def long_step(what: str, usual: tuple[float, float], note: str = "cached afterwards") -> Iterator[None]:
    """Report a step that takes ``usual`` (low, high) seconds: a bar in a kernel, else one logger line.

    ``what`` reads like "building template counter"; ``note`` ends the logger line."""
    bar = _KernelBar.show(what, usual[1]) if in_kernel() else None
    if bar is None:
        progress.info("%s (%g-%g s; %s) ...", what, usual[0], usual[1], note)
        yield
        return
    try:
        yield
    except BaseException:
        bar.finish(ok=False)
        raise
    bar.finish(ok=True)


class _KernelBar:
    """An ipywidgets bar and label, advanced by a ticker thread while the step runs."""

    def __init__(self, what: str, expected: float, widgets: Any) -> None:
        self.what, self.expected, self.started = what, expected, time.monotonic()
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0)
        self.label = widgets.Label(value=f"{what} ...")
        self.box = widgets.HBox([self.bar, self.label])
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="golemsim-progress", daemon=True)

    @classmethod
    def show(cls, what: str, expected: float) -> _KernelBar | None:
        """Display a bar in the running cell; None without ipywidgets."""
        try:
            import ipywidgets
            from IPython.display import display
        except ImportError:
            return None
        shown = cls(what, expected, ipywidgets)
        bundle = shown.box._repr_mimebundle_()
        display({WIDGET_VIEW: bundle[WIDGET_VIEW]}, raw=True)  # type: ignore[no-untyped-call]  # no text/plain
        shown._ticker.start()
        return shown

    def _tick(self) -> None:
        while not self._done.wait(TICK_SECONDS):
            elapsed = time.monotonic() - self.started
            # Toward the usual duration, never quite full before the step ends.
            self.bar.value = min(0.95, elapsed / self.expected)
            self.label.value = f"{self.what} ... {elapsed:.0f} s (usually up to {self.expected:g} s)"

    def finish(self, *, ok: bool) -> None:
        self._done.set()
        self._ticker.join()
        elapsed = time.monotonic() - self.started
        self.bar.value = 1.0
        self.bar.bar_style = "success" if ok else "danger"
        self.label.value = f"{self.what}: {'done' if ok else 'failed'} in {elapsed:.1f} s"
