"""The bar a long step shows in a Jupyter kernel: an ipywidgets progress bar and label.

golemsim.core reports long steps (a template build, a first compile) through
``golemsim.core.progress.show_steps_with``, and needs no widget library; ``golemsim`` installs
``kernel_bar`` there on import. ipywidgets is imported only when a kernel shows a bar; without it a
kernel gets the logger line, as the command line does. The display carries only the widget view,
no text form, so a notebook's recorded text outputs (which nbval compares) do not depend on
whether the caches were warm.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

TICK_SECONDS = 0.5
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def in_kernel() -> bool:
    """True when this code runs in a Jupyter (ipykernel) kernel."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def kernel_bar(what: str, expected: float) -> KernelBar | None:
    """A bar shown in the running cell when in a kernel with ipywidgets; None otherwise."""
    return KernelBar.show(what, expected) if in_kernel() else None


class KernelBar:
    """An ipywidgets bar and label, advanced by a ticker thread while the step runs."""

    def __init__(self, what: str, expected: float, widgets: Any) -> None:
        self.what, self.expected, self.started = what, expected, time.monotonic()
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0)
        self.label = widgets.Label(value=f"{what} ...")
        self.box = widgets.HBox([self.bar, self.label])
        self._done = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="golemsim-progress", daemon=True)

    @classmethod
    def show(cls, what: str, expected: float) -> KernelBar | None:
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
