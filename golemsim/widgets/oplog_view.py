"""The oplog view: one worker's entries as a timeline or a table, a colour per kind, growing
while a simulation runs, with a replay cursor that moves while the worker recovers.

    view = OplogView("checkout/order-17")      # or OplogView(): follow the first worker that recovers
    run_live(experiment, view)
    view                                       # click an entry to see it whole

Outside a simulation it shows a real executor's worker: ``OplogView.of_executor(ex, worker)``.
"""

from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ..core.oplog.describe import describe_entry
from ..core.oplog.entries import OplogEntry
from ..sim.observe import APPENDED, REPLAY, SimEvent
from . import pictures
from .fallback import TextFallback
from .oplog_marks import CUT, REPLAYED, RESUMED, Marks
from .pacing import Pacer
from .shard_owners import ShardOwners

if TYPE_CHECKING:
    from ..core.executor import Executor
    from ..sim.cluster import Cluster
    from ..sim.runner import RunResult

KIND_COLORS: dict[str, str] = {
    "create": "#6b7280",
    "pending-invocation": "#a78bfa",
    "invocation-started": "#2563eb",
    "host-call": "#10b981",
    "begin-remote-write": "#f59e0b",
    "invocation-completed": "#1d4ed8",
    "invocation-failed": "#dc2626",
    "error": "#b91c1c",
    "atomic-begin": "#0891b2",
    "atomic-end": "#0e7490",
    "jump": "#e11d48",
    "suspend": "#9ca3af",
    "promise-completed": "#c026d3",
    "interrupt": "#ea580c",
    "resume": "#65a30d",
    "checkpoint": "#111827",
    "update-pending": "#d97706",
    "update-succeeded": "#16a34a",
    "update-failed": "#dc2626",
}
"""A colour per entry kind (the same in the widget and its HTML fallback)."""
OTHER_COLOR = "#94a3b8"
PICTURE_ENTRIES = 80
"""Entries drawn in the saved picture (the newest)."""
SHORT = 90
"""Characters of an entry's description shown in the table (the whole of it on click)."""


@dataclass(frozen=True)
class _Row:
    index: int
    entry: OplogEntry


class OplogView(TextFallback, anywidget.AnyWidget):
    """One worker's oplog, live. ``limit`` newest entries are drawn (all are counted)."""

    _esm = Path(__file__).with_name("oplog_view.js")
    worker = traitlets.Unicode("").tag(sync=True)
    entries = traitlets.List[Any]([]).tag(sync=True)
    """The drawn entries: {i: index, k: kind, d: short description, m: marks (CUT, REPLAYED, RESUMED)}."""
    notes = traitlets.Dict({}).tag(sync=True)
    """Why an entry is marked: index -> what happened there (a crash, a replay, a resumption)."""
    total = traitlets.Int(0).tag(sync=True)
    cursor = traitlets.Int(0).tag(sync=True)
    """The replay cursor: the oplog index a rebuild has replayed up to (0: not recovering)."""
    replay_end = traitlets.Int(0).tag(sync=True)
    recoveries = traitlets.Int(0).tag(sync=True)
    mode = traitlets.Unicode("timeline").tag(sync=True)
    colors = traitlets.Dict(KIND_COLORS).tag(sync=True)
    selected = traitlets.Int(0).tag(sync=True)
    """Set by a click in the page: the index of the entry to show whole."""
    detail = traitlets.Unicode("").tag(sync=True)
    """The selected entry, whole (computed here, drawn in the page)."""

    def __init__(self, worker: str | None = None, *, limit: int = 300, mode: str = "timeline") -> None:
        super().__init__(worker=worker or "", mode=mode)
        self.limit = limit
        self.follow = worker is None
        self._logs: dict[str, list[_Row]] = {}
        self._marks: dict[str, Marks] = {}
        self._shards = ShardOwners()
        self._pacer = Pacer()
        self._dirty = False
        self.observe(self._on_selected, names="selected")

    # --- watching a simulation (golemsim.sim.observe) ---
    def started(self, cluster: Cluster) -> None:
        self._logs, self._marks = {}, {}
        self._shards.started(cluster)
        self.final_state = False
        self._set(total=0, entries=[], notes={}, cursor=0, replay_end=0, recoveries=0, detail="", selected=0)
        if self.follow:
            self.worker = ""

    def on_event(self, event: SimEvent) -> None:
        fields = event.fields
        worker = str(fields.get("worker", ""))
        if event.kind == APPENDED:
            rows = self._logs.setdefault(worker, [])
            first = int(fields["first"])
            del rows[first - 1 :]  # a re-written tail (never happens for committed entries, but be exact)
            rows.extend(_Row(first + n, entry) for n, entry in enumerate(fields["entries"]))
            self._marks_of(worker).appended(first, event.time)
            self._dirty = self._dirty or worker == self.worker
        elif event.kind == REPLAY:
            if self.follow and not self.worker:
                self.worker = worker
                self._dirty = True
            index, end = int(fields["index"]), int(fields["end"])
            self._marks_of(worker).replay(index, end, str(fields["node"]), event.time)
            if worker == self.worker:
                if self.cursor == 0 and index < end:
                    self.recoveries += 1
                self.cursor, self.replay_end = (0, 0) if index >= end else (index, end)
                self._dirty = True
        else:
            self._follow_shards(event)
        if self._dirty and self._pacer.due():
            self.redraw()

    def finished(self, result: RunResult) -> None:
        self.cursor = self.replay_end = 0
        self.final_state = True
        self.redraw()
        self.update_displays()

    def _follow_shards(self, event: SimEvent) -> None:
        fields = event.fields
        if event.kind in ("assign", "acquire"):
            self._shards.set(int(fields["shard"]), str(fields["node"]))
        elif event.kind == "release":
            self._shards.release(int(fields["shard"]), str(fields["node"]))
        elif event.kind == "node" and fields["state"] in ("crashed", "upgrading"):
            node = str(fields["node"])
            what = "crashed" if fields["state"] == "crashed" else "stopped for an upgrade"
            for worker, rows in self._logs.items():
                if rows and self._shards.node_of(worker) == node:
                    self._marks_of(worker).cut(
                        rows[-1].index, f"{node} {what} at t={round(event.time, 3):g}s", event.time
                    )
                    self._dirty = self._dirty or worker == self.worker

    def _marks_of(self, worker: str) -> Marks:
        marks = self._marks.get(worker)
        if marks is None:
            marks = self._marks[worker] = Marks()
        return marks

    # --- a real executor ---
    @classmethod
    def of_executor(cls, executor: Executor, worker: str, *, limit: int = 300, mode: str = "timeline") -> OplogView:
        """The view of ``worker`` on a real executor; call ``refresh()`` to read it again."""
        view = cls(worker, limit=limit, mode=mode)
        view._executor = executor
        view.refresh()
        return view

    def refresh(self) -> None:
        """Read the worker's oplog again from its executor (views made by ``of_executor``)."""
        executor: Executor | None = getattr(self, "_executor", None)
        if executor is None:
            raise ValueError("refresh() reads from an executor: make the view with OplogView.of_executor")
        self._logs[self.worker] = [_Row(index, entry) for index, entry in executor.oplog(self.worker)]
        self.final_state = True
        self.redraw()
        self.update_displays()

    # --- showing ---
    def show(self, worker: str) -> None:
        """Show another worker (of those seen in the run)."""
        self.worker, self.follow = worker, False
        self.cursor = self.replay_end = 0
        self.redraw()
        self.update_displays()
        self.update_displays()

    @property
    def workers(self) -> list[str]:
        """Workers whose entries this view has seen, by name."""
        return sorted(self._logs)

    def rows(self) -> list[tuple[int, str, str]]:
        """(index, kind, summary) of every entry seen for the shown worker (see ``summarize``)."""
        return [(r.index, r.entry.kind, summarize(r.entry)) for r in self._logs.get(self.worker, [])]

    def marks(self) -> Marks:
        """Where a crash cut the shown worker's log and where replay took over."""
        return self._marks.get(self.worker) or Marks()

    def redraw(self) -> None:
        rows = self._logs.get(self.worker, [])
        drawn = rows[-self.limit :]
        marks = self.marks()
        self._set(
            total=len(rows),
            entries=[
                {"i": r.index, "k": r.entry.kind, "d": _short(summarize(r.entry)), "m": list(marks.of(r.index))}
                for r in drawn
            ],
            notes={str(i): note for i, note in marks.notes().items() if drawn and i >= drawn[0].index},
        )
        self._dirty = False

    def _set(self, **values: Any) -> None:
        with self.hold_sync():
            for name, value in values.items():
                setattr(self, name, value)

    def _on_selected(self, change: dict[str, Any]) -> None:
        index = int(change["new"])
        for row in self._logs.get(self.worker, []):
            if row.index == index:
                fields = json.dumps(dataclasses.asdict(row.entry), indent=1, sort_keys=True, default=str)
                self.detail = f"#{index} {row.entry.kind} {fields}"
                return
        self.detail = f"#{index}: not among the entries seen"

    # --- fallbacks ---
    def picture(self) -> bytes:
        """The newest entries as a strip with the marks, over the text."""
        return pictures.oplog_png(self.to_text(), self.entries[-PICTURE_ENTRIES:], KIND_COLORS)

    def to_text(self, last: int = 12) -> str:
        """The view as text: a header, where a crash cut the log and replay took over, then the
        newest ``last`` entries (marked: ``x`` cut by a crash, ``r`` replayed, ``>`` first new)."""
        rows, marks = self.rows(), self.marks()
        head = f"Oplog of {self.worker or '(no worker yet)'}: {len(rows)} entries"
        if self.cursor:
            head += f", replaying {self.cursor}/{self.replay_end}"
        lines = [head, *(f"  {line}" for line in marks.summary())]
        if len(lines) > 1:
            lines.append("  (marks: x the crash cut the log after it, r replayed, > first new entry after replay)")
        if len(rows) > last:
            lines.append(f"  ... {len(rows) - last} earlier entries")
        for i, k, d in rows[-last:]:
            lines.append(f"  {_flags(marks.of(i))} {i:>5}  {k:<22} {_short(d)}")
        return "\n".join(lines)

    def to_html(self, last: int = 12) -> str:
        rows, marks = self.rows(), self.marks()
        notes = marks.notes()
        cells = "".join(
            f"<tr{_row_style(marks.of(i))}><td>{_flags(marks.of(i)).strip()}</td><td>{i}</td>"
            f"<td><span style='color:{KIND_COLORS.get(k, OTHER_COLOR)}'>&#9632;</span> {k}</td>"
            f"<td><code>{html.escape(_short(d))}</code></td><td>{html.escape(notes.get(i, ''))}</td></tr>"
            for i, k, d in rows[-last:]
        )
        title = html.escape(self.worker or "(no worker yet)")
        summary = "".join(f"<li>{html.escape(line)}</li>" for line in marks.summary())
        earlier = f"<p>... {len(rows) - last} earlier entries</p>" if len(rows) > last else ""
        return (
            f"<div class='golemsim-fallback'><b>Oplog of {title}</b>: {len(rows)} entries"
            f"{f'<ul>{summary}</ul>' if summary else ''}{earlier}"
            f"<table><tr><th></th><th>#</th><th>kind</th><th>entry</th><th>marks</th></tr>{cells}</table></div>"
        )

    def __repr__(self) -> str:
        return f"OplogView(worker={self.worker!r}, entries={self.total})"


def summarize(entry: OplogEntry) -> str:
    """What a row of the view says about an entry: for an external call the service and operation
    first (its key would fill the row), otherwise the entry's usual description. The fuel an
    invocation used is left out: it is in the whole entry (a click), and it differs between two
    builds of the same template (componentize-py builds are not byte for byte reproducible)."""
    request = getattr(entry, "request", None)
    if getattr(entry, "function", "") == "call-service" and isinstance(request, dict):
        call = f"call-service {request.get('service')}.{request.get('operation')}"
        key = request.get("idempotency_key")
        answer = getattr(entry, "response", None)
        return f"{call} key={key}" + ("" if answer is None else f" -> {json.dumps(answer, sort_keys=True)}")
    return describe_entry(entry, omit=("fuel",))


def _short(text: str) -> str:
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."


MARK_FLAGS = {CUT: "x", REPLAYED: "r", RESUMED: ">"}
"""One character per mark in the text fallback (a crash cut, replayed, the first new entry)."""
MARK_COLORS = {CUT: "#fee2e2", REPLAYED: "#fef3c7", RESUMED: "#dcfce7"}


def _flags(marks: tuple[str, ...]) -> str:
    return "".join(MARK_FLAGS[m] for m in marks).ljust(2)


def _row_style(marks: tuple[str, ...]) -> str:
    return f" style='background:{MARK_COLORS[marks[-1]]}'" if marks else ""
