"""Recovery progress: a bar per worker being rebuilt, oplog entries replayed out of the total,
and the last few finished rebuilds (stock ipywidgets progress bars).

    progress = RecoveryProgress()
    run_live(experiment, progress)
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..sim.observe import REPLAY, SimEvent
from .fallback import TextFallback
from .pacing import Pacer

if TYPE_CHECKING:
    from ..sim.cluster import Cluster
    from ..sim.runner import RunResult


@dataclass
class Rebuild:
    """One instance rebuild: oplog entries ``start`` .. ``end``, replayed up to ``index``."""

    worker: str
    node: str
    time: float
    start: int
    index: int
    end: int

    @property
    def done(self) -> bool:
        return self.index >= self.end

    @property
    def replayed(self) -> int:
        return self.index - self.start

    @property
    def total(self) -> int:
        return self.end - self.start


class RecoveryProgress(TextFallback, widgets.VBox):  # type: ignore[misc]
    """Bars for the rebuilds under way, and the ``keep`` newest finished ones."""

    def __init__(self, *, keep: int = 6) -> None:
        self.keep = keep
        self.header = widgets.HTML()
        self.bars = widgets.VBox()
        super().__init__([self.header, self.bars])
        self.running: dict[str, Rebuild] = {}
        self.finished_rebuilds: list[Rebuild] = []
        self.count = 0
        self._rows: list[_Row] = []
        self._pacer = Pacer()

    def started(self, cluster: Cluster) -> None:
        self.running, self.finished_rebuilds, self.count = {}, [], 0
        self.final_state = False
        self.redraw()

    def on_event(self, event: SimEvent) -> None:
        fields = event.fields
        if event.kind == "node" and fields["state"] == "crashed":  # its rebuilds died with it
            self.running = {w: r for w, r in self.running.items() if r.node != fields["node"]}
            return
        if event.kind != REPLAY:
            return
        worker, index, end = str(fields["worker"]), int(fields["index"]), int(fields["end"])
        rebuild = self.running.get(worker)
        if rebuild is None or index < rebuild.index:
            rebuild = self.running[worker] = Rebuild(
                worker, str(fields["node"]), round(event.time, 3), index, index, end
            )
            self.count += 1
        rebuild.index, rebuild.end = index, end
        if rebuild.done:
            del self.running[worker]
            self.finished_rebuilds = [*self.finished_rebuilds, rebuild][-self.keep :]
        if self._pacer.due():
            self.redraw()

    def finished(self, result: RunResult) -> None:
        self.final_state = True
        self.redraw()
        self.update_displays()

    def redraw(self) -> None:
        self.header.value = html.escape(self._headline())
        shown = [*sorted(self.running.values(), key=lambda r: r.worker), *reversed(self.finished_rebuilds)]
        while len(self._rows) < len(shown):  # rows are reused: a widget made per redraw would pile up
            self._rows.append(_Row())
        for row, rebuild in zip(self._rows, shown, strict=False):
            row.show(rebuild)
        self.bars.children = [row.box for row in self._rows[: len(shown)]]

    def _headline(self) -> str:
        return (
            f"Recovering {len(self.running)} workers now; {self.count} rebuilds by replay so far"
            if self.count
            else "No worker has been rebuilt by replay yet"
        )

    def to_text(self) -> str:
        lines = [self._headline()]
        for r in sorted(self.running.values(), key=lambda r: r.worker):
            lines.append(f"  {r.worker:<28} {r.replayed:>5}/{r.total:<5} entries (on {r.node}, t={r.time:g}s)")
        for r in reversed(self.finished_rebuilds):
            lines.append(f"  {r.worker:<28} {r.replayed:>5}/{r.total:<5} entries, done (on {r.node}, t={r.time:g}s)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RecoveryProgress(running={len(self.running)}, rebuilds={self.count})"


class _Row:
    """One line of bars: a progress bar, the count of entries, and which worker on which node."""

    def __init__(self) -> None:
        self.bar = widgets.IntProgress(min=0, max=1, layout=widgets.Layout(width="240px"))
        self.count = widgets.Label()
        self.label = widgets.Label()
        self.box = widgets.HBox([self.bar, self.count, self.label])

    def show(self, rebuild: Rebuild) -> None:
        with self.bar.hold_sync():
            self.bar.max = max(rebuild.total, 1)
            self.bar.value = rebuild.replayed
            self.bar.bar_style = "success" if rebuild.done else "warning"
        self.count.value = f"{rebuild.replayed}/{rebuild.total} entries" + (" done" if rebuild.done else "")
        self.label.value = f"{rebuild.worker} on {rebuild.node} at t={rebuild.time:g}s"
