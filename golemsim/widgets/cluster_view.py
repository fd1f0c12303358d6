"""The cluster view: nodes, the shards they own and the workers on them, coloured by status,
with faults shown as they happen. networkx lays the graph out (nodes inside, shards around
them, workers outside, next to their shard); the page draws it as SVG.

    view = ClusterView()
    run_live(experiment, view)
    view          # click a node, a shard or a worker to read about it
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import networkx as nx
import traitlets

from ..core.ids import WorkerId
from ..sim.observe import APPENDED, REPLAY, SimEvent
from .fallback import TextFallback
from .pacing import Pacer

if TYPE_CHECKING:
    from ..sim.cluster import Cluster
    from ..sim.runner import RunResult

ACTIVE, RECOVERING, LOST = "active", "recovering", "lost"
"""Worker statuses: has written to its oplog; is being rebuilt by replay; its node died since."""
FAULT_LOG = 12
"""Faults listed in the view (the newest)."""


class ClusterView(TextFallback, anywidget.AnyWidget):
    """Nodes, shards and (up to ``max_workers``) workers of a simulated cluster, live."""

    _esm = Path(__file__).with_name("cluster_view.js")
    time = traitlets.Float(0.0).tag(sync=True)
    nodes = traitlets.List[Any]([]).tag(sync=True)
    """{name, state}"""
    owners = traitlets.List[Any]([]).tag(sync=True)
    """The node owning each shard ("" while unassigned)."""
    workers = traitlets.List[Any]([]).tag(sync=True)
    """{name, shard, status} of the drawn workers."""
    hidden_workers = traitlets.Int(0).tag(sync=True)
    positions = traitlets.Dict({}).tag(sync=True)
    """Layout (networkx): id -> [x, y] in [-1, 1]; ids are node names, "shard-N" and worker names."""
    faults = traitlets.List[Any]([]).tag(sync=True)
    """{t, kind, what, active} of the newest faults."""
    selected = traitlets.Unicode("").tag(sync=True)
    """Set by a click in the page: a node name, "shard-N" or a worker name."""
    detail = traitlets.Unicode("").tag(sync=True)

    def __init__(self, *, max_workers: int = 60) -> None:
        super().__init__()
        self.max_workers = max_workers
        self._states: dict[str, str] = {}
        self._owners: list[str] = []
        self._workers: dict[str, tuple[int, str]] = {}
        self._faults: list[dict[str, Any]] = []
        self._shard_count = 0
        self._shard_of: Any = None
        self._pacer = Pacer()
        self._laid_out: tuple[int, int, tuple[str, ...]] = (0, 0, ())
        self.observe(self._on_selected, names="selected")

    # --- watching a simulation ---
    def started(self, cluster: Cluster) -> None:
        self._states = {name: node.state for name, node in cluster.nodes.items()}
        self._shard_count = cluster.settings.shards
        self._owners = [""] * self._shard_count
        for shard in range(self._shard_count):
            owner = cluster.shard_manager.owner(shard)
            self._owners[shard] = owner[0] if owner else ""
        self._shard_of = cluster.shard_of
        self._workers, self._faults = {}, []
        self.time = 0.0
        self.selected, self.detail = "", ""
        self.redraw()

    def on_event(self, event: SimEvent) -> None:
        kind, fields = event.kind, event.fields
        if kind == APPENDED:
            self._worker(str(fields["worker"]), ACTIVE)
        elif kind == REPLAY:
            done = int(fields["index"]) >= int(fields["end"])
            self._worker(str(fields["worker"]), ACTIVE if done else RECOVERING)
        elif kind == "recovered":
            self._worker(str(fields["worker"]), ACTIVE)
        elif kind == "node":
            self._states[str(fields["node"])] = str(fields["state"])
            if fields["state"] == "crashed":
                self._lose(str(fields["node"]))
        elif kind in ("assign", "acquire"):
            self._owners[int(fields["shard"])] = str(fields["node"])
        elif kind == "release":
            shard = int(fields["shard"])
            if self._owners[shard] == fields["node"]:
                self._owners[shard] = ""
        elif kind == "fault":
            self._faults.append(
                {"t": round(event.time, 3), "kind": fields["kind"], "what": fields["what"], "active": True}
            )
        elif kind == "healed":
            for fault in self._faults:
                if fault["active"] and fault["kind"] == fields["kind"]:
                    fault["active"] = False
                    break
        else:
            return
        if self._pacer.due():
            self.time = round(event.time, 3)
            self.redraw()

    def finished(self, result: RunResult) -> None:
        self.time = round(result.cluster.env.now, 3)
        self.redraw()

    def _worker(self, name: str, status: str) -> None:
        shard = self._shard_of(WorkerId.parse(name)) if self._shard_of else 0
        self._workers[name] = (shard, status)

    def _lose(self, node: str) -> None:
        for name, (shard, _status) in self._workers.items():
            if self._owners[shard] == node:
                self._workers[name] = (shard, LOST)

    # --- drawing ---
    def redraw(self) -> None:
        shown = sorted(self._workers)[: self.max_workers]
        with self.hold_sync():
            self._layout(shown)
            self.nodes = [{"name": n, "state": s} for n, s in self._states.items()]
            self.owners = list(self._owners)
            self.workers = [{"name": w, "shard": self._workers[w][0], "status": self._workers[w][1]} for w in shown]
            self.hidden_workers = len(self._workers) - len(shown)
            self.faults = [dict(f) for f in self._faults[-FAULT_LOG:]]

    def _layout(self, shown: list[str]) -> None:
        key = (len(self._states), self._shard_count, tuple(shown))
        if key == self._laid_out:
            return
        graph = nx.Graph()
        nodes = list(self._states)
        shards = [f"shard-{s}" for s in range(self._shard_count)]
        by_shard = sorted(shown, key=lambda w: (self._workers[w][0], w))
        graph.add_nodes_from(nodes + shards + by_shard)
        graph.add_edges_from((f"shard-{self._workers[w][0]}", w) for w in by_shard)
        shells = [s for s in (nodes, shards, by_shard) if s]
        positions = nx.shell_layout(graph, nlist=shells, rotate=0) if shells else {}
        self.positions = {str(k): [round(float(v[0]), 4), round(float(v[1]), 4)] for k, v in positions.items()}
        self._laid_out = key

    def _on_selected(self, change: dict[str, Any]) -> None:
        self.detail = self.describe(str(change["new"]))

    def describe(self, item: str) -> str:
        """A few lines about a node, a shard ("shard-N") or a worker."""
        if item in self._states:
            owned = [str(s) for s, owner in enumerate(self._owners) if owner == item]
            workers = sum(1 for shard, _ in self._workers.values() if self._owners[shard] == item)
            faults = [f["what"] for f in self._faults if item in str(f["what"])]
            text = f"{item}: {self._states[item]}; shards {', '.join(owned) or 'none'}; {workers} workers seen"
            return text + (f"; faults: {'; '.join(faults)}" if faults else "")
        if item.startswith("shard-") and item[6:].isdigit() and int(item[6:]) < self._shard_count:
            shard = int(item[6:])
            on = [w for w, (s, _) in sorted(self._workers.items()) if s == shard]
            return f"{item}: owned by {self._owners[shard] or 'nobody'}; {len(on)} workers seen"
        if item in self._workers:
            shard, status = self._workers[item]
            return f"{item}: {status}; shard {shard} on {self._owners[shard] or 'nobody'}"
        return f"{item}: not in this cluster"

    # --- fallbacks ---
    def to_text(self) -> str:
        lines = [
            f"Cluster at t={self.time:g} s: {len(self._states)} nodes, {self._shard_count} shards, "
            f"{len(self._workers)} workers seen"
        ]
        for node, state in self._states.items():
            owned = " ".join(str(s) for s, owner in enumerate(self._owners) if owner == node) or "-"
            lines.append(f"  {node:<8} {state:<10} shards {owned}")
        counts = _count(status for _, status in self._workers.values())
        if counts:
            lines.append("  workers: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for fault in self._faults[-FAULT_LOG:]:
            lines.append(f"  fault {fault['what']}" + (" (active)" if fault["active"] else " (healed)"))
        return "\n".join(lines)

    def to_html(self) -> str:
        return f"<pre class='golemsim-fallback'>{html.escape(self.to_text())}</pre>"

    def __repr__(self) -> str:
        return f"ClusterView(nodes={len(self._states)}, shards={self._shard_count}, workers={len(self._workers)})"


def _count(statuses: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))
