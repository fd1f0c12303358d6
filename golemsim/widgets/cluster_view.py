"""The cluster view: nodes, the shards they own and the workers on them, coloured by status,
with faults shown as they happen. A worker is active, idle, recovering (replaying its oplog),
moving (its shard changes owner) or suspended (its node is down): never lost, since its oplog is
in storage (WORKER_STATUSES says what each means). networkx lays the graph out (nodes inside,
shards around them, workers outside, next to their shard); the page draws it as SVG.

    view = ClusterView()
    run_live(experiment, view)
    view          # click a node, a shard or a worker to read about it
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import networkx as nx
import traitlets

from ..sim.observe import APPENDED, REPLAY, SimEvent
from . import pictures
from .fallback import TextFallback
from .pacing import Pacer
from .shard_owners import ShardOwners

if TYPE_CHECKING:
    from ..sim.cluster import Cluster
    from ..sim.runner import RunResult

ACTIVE, IDLE, RECOVERING, MOVING, SUSPENDED = "active", "idle", "recovering", "moving", "suspended"
WORKER_STATUSES: dict[str, str] = {
    ACTIVE: "wrote to its oplog in the last simulated second",
    IDLE: "nothing to do: its oplog is in storage, its next call (re)builds it",
    RECOVERING: "being rebuilt by replaying its oplog",
    MOVING: "its shard is being handed to another node",
    SUSPENDED: "its node is down; its oplog is safe in storage and it waits for a new owner",
}
"""What each worker status means. None is a loss: the oplog of every worker is durable."""
WORKER_COLORS: dict[str, str] = {
    ACTIVE: "#0284c7",
    IDLE: "#7dd3fc",
    RECOVERING: "#f59e0b",
    MOVING: "#8b5cf6",
    SUSPENDED: "#9ca3af",
}
"""A colour per worker status (the same in the page and in the HTML fallback)."""
NODE_COLORS: dict[str, str] = {
    "up": "#16a34a",
    "crashed": "#dc2626",
    "draining": "#f59e0b",
    "upgrading": "#2563eb",
    "restarting": "#9ca3af",
}
"""A colour per node state."""
ACTIVE_SECONDS = 1.0
"""Simulated seconds after its last write that a worker still counts as active."""
FAULT_LOG = 12
"""Faults listed in the view (the newest)."""
STOPPED = ("crashed", "upgrading")
"""Node states in which a node's shard hosts are stopped: its workers are suspended."""


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
    worker_colors = traitlets.Dict(WORKER_COLORS).tag(sync=True)
    node_colors = traitlets.Dict(NODE_COLORS).tag(sync=True)
    worker_statuses = traitlets.Dict(WORKER_STATUSES).tag(sync=True)
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
        self._shards = ShardOwners()
        self._workers: dict[str, _Worker] = {}
        self._faults: list[dict[str, Any]] = []
        self._now = 0.0
        self._pacer = Pacer()
        self._laid_out: tuple[int, int, tuple[str, ...]] = (0, 0, ())
        self.observe(self._on_selected, names="selected")

    @property
    def _owners(self) -> list[str]:
        return self._shards.owners

    @property
    def _shard_count(self) -> int:
        return len(self._shards.owners)

    # --- watching a simulation ---
    def started(self, cluster: Cluster) -> None:
        self._states = {name: node.state for name, node in cluster.nodes.items()}
        self._shards.started(cluster)
        self._workers, self._faults, self._now = {}, [], 0.0
        self.final_state = False
        self.time = 0.0
        self.selected, self.detail = "", ""
        self.redraw()

    def on_event(self, event: SimEvent) -> None:
        kind, fields = event.kind, event.fields
        self._now = event.time
        if kind == APPENDED:  # a write its node sent before it went down is still not a running worker
            worker = str(fields["worker"])
            stopped = self._states.get(self._shards.node_of(worker)) in STOPPED
            self._set_worker(worker, SUSPENDED if stopped else ACTIVE)
        elif kind == REPLAY:
            done = int(fields["index"]) >= int(fields["end"])
            self._set_worker(str(fields["worker"]), ACTIVE if done else RECOVERING)
        elif kind == "recovered":
            self._set_worker(str(fields["worker"]), ACTIVE)
        elif kind == "node":
            self._states[str(fields["node"])] = str(fields["state"])
            if fields["state"] in STOPPED:
                self._on_node_stopped(str(fields["node"]))
        elif kind == "assign":
            shard, node = int(fields["shard"]), str(fields["node"])
            if self._shards.set(shard, node) not in ("", node):
                self._on_shard(shard, MOVING)
        elif kind == "acquire":
            self._shards.set(int(fields["shard"]), str(fields["node"]))
            self._on_shard(int(fields["shard"]), IDLE, only=(MOVING, SUSPENDED))
        elif kind == "release":
            if self._shards.release(int(fields["shard"]), str(fields["node"])):
                self._on_shard(int(fields["shard"]), MOVING, only=(ACTIVE, IDLE, RECOVERING))
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
        """The run is over: every worker rests, idle where a live node owns its shard."""
        self._now = result.cluster.env.now
        for worker in self._workers.values():
            owner = self._owners[worker.shard]
            worker.status = IDLE if owner and self._states.get(owner) == "up" else SUSPENDED
        self.time = round(self._now, 3)
        self.final_state = True
        self.redraw()
        self.update_displays()

    def _set_worker(self, name: str, status: str) -> None:
        worker = self._workers.get(name)
        if worker is None:
            worker = self._workers[name] = _Worker(self._shards.shard(name), status, self._now)
        worker.status, worker.since = status, self._now

    def _on_node_stopped(self, node: str) -> None:
        for worker in self._workers.values():
            if self._owners[worker.shard] == node:
                worker.status = SUSPENDED

    def _on_shard(self, shard: int, status: str, *, only: tuple[str, ...] = ()) -> None:
        for worker in self._workers.values():
            if worker.shard == shard and (not only or worker.status in only):
                worker.status = status

    def status(self, worker: str) -> str:
        """The worker's status now (see WORKER_STATUSES)."""
        state = self._workers[worker]
        if state.status == ACTIVE and self._now - state.since > ACTIVE_SECONDS:
            return IDLE
        return state.status

    def statuses(self) -> dict[str, str]:
        """Every worker seen, by name, with its status now."""
        return {name: self.status(name) for name in sorted(self._workers)}

    # --- drawing ---
    def redraw(self) -> None:
        shown = sorted(self._workers)[: self.max_workers]
        with self.hold_sync():
            self._layout(shown)
            self.nodes = [{"name": n, "state": s} for n, s in self._states.items()]
            self.owners = list(self._owners)
            self.workers = [{"name": w, "shard": self._workers[w].shard, "status": self.status(w)} for w in shown]
            self.hidden_workers = len(self._workers) - len(shown)
            self.faults = [dict(f) for f in self._faults[-FAULT_LOG:]]

    def _layout(self, shown: list[str]) -> None:
        key = (len(self._states), self._shard_count, tuple(shown))
        if key == self._laid_out:
            return
        graph = nx.Graph()
        nodes = list(self._states)
        shards = [f"shard-{s}" for s in range(self._shard_count)]
        by_shard = sorted(shown, key=lambda w: (self._workers[w].shard, w))
        graph.add_nodes_from(nodes + shards + by_shard)
        graph.add_edges_from((f"shard-{self._workers[w].shard}", w) for w in by_shard)
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
            workers = sum(1 for w in self._workers.values() if self._owners[w.shard] == item)
            faults = [f["what"] for f in self._faults if item in str(f["what"])]
            text = f"{item}: {self._states[item]}; shards {', '.join(owned) or 'none'}; {workers} workers seen"
            return text + (f"; faults: {'; '.join(faults)}" if faults else "")
        if item.startswith("shard-") and item[6:].isdigit() and int(item[6:]) < self._shard_count:
            shard = int(item[6:])
            on = [name for name, w in self._workers.items() if w.shard == shard]
            return f"{item}: owned by {self._owners[shard] or 'nobody'}; {len(on)} workers seen"
        if item in self._workers:
            shard, status = self._workers[item].shard, self.status(item)
            where = f"shard {shard} on {self._owners[shard] or 'nobody'}"
            return f"{item}: {status} ({WORKER_STATUSES[status]}); {where}"
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
        counts = _count(self.statuses().values())
        if counts:
            lines.append("  workers: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for fault in self._faults[-FAULT_LOG:]:
            lines.append(f"  fault {fault['what']}" + (" (active)" if fault["active"] else " (healed)"))
        return "\n".join(lines)

    def picture(self) -> bytes:
        """The graph as drawn in the page, over the text."""
        colors = {"workers": dict(self.worker_colors), "nodes": dict(self.node_colors)}
        return pictures.cluster_png(self.to_text(), self.positions, self.nodes, self.owners, self.workers, colors)

    def to_html(self) -> str:
        """The text with a legend of the worker statuses (their colours and meanings)."""
        legend = "".join(
            f"<li><span style='color:{WORKER_COLORS[s]}'>&#9679;</span> <b>{s}</b>: {html.escape(meaning)}</li>"
            for s, meaning in WORKER_STATUSES.items()
        )
        return (
            f"<div class='golemsim-fallback'><pre>{html.escape(self.to_text())}</pre>"
            f"<ul style='list-style:none;padding-left:0'>{legend}</ul></div>"
        )

    def __repr__(self) -> str:
        return f"ClusterView(nodes={len(self._states)}, shards={self._shard_count}, workers={len(self._workers)})"


def _count(statuses: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


@dataclass
class _Worker:
    shard: int
    status: str
    since: float
    """When it was last seen writing or replaying (simulated seconds)."""
