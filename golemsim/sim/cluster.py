"""A virtual cluster: nodes running the real executor core, a shard manager, the oplog
storage service, a network, the API gateway and the external services, in one SimPy world.

Everything random draws from generators seeded from the run's seed, and every thread of
the core runs under one baton, so the same seed gives the same run. The parts share the
services of golemsim.sim.world; the Cluster builds them and wires them together.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from ..core.ids import WorkerId
from ..core.oplog.entries import OplogEntry
from ..core.oplog.store import OplogStore
from ..core.templates import TemplateRegistry
from ..gateway import ApiDefinition
from .gateway import SimGateway
from .node import Node
from .observe import APPENDED, Observer
from .router import Router
from .shards import ShardManager
from .worker_calls import WorkerCalls
from .world import ClusterSettings, Frontend, World


class Cluster(World):
    """The pieces of one simulated run, wired together."""

    nodes: dict[str, Node]
    shard_manager: ShardManager
    router: Router
    calls: WorkerCalls

    def __init__(
        self,
        seed: int,
        settings: ClusterSettings,
        templates: TemplateRegistry,
        store: OplogStore,
        api: ApiDefinition,
        *,
        keep_trace: bool = True,
        frontend: Callable[[World], Frontend] | None = None,
    ) -> None:
        """``frontend`` makes what answers the clients (default: the simulated gateway serving ``api``)."""
        super().__init__(seed, settings, templates, store, keep_trace=keep_trace)
        self.shard_manager = ShardManager(self, settings.shards)
        self.router = Router(self)
        self.calls = WorkerCalls(self)
        self.nodes = {name: Node(self, name) for name in (f"node-{i}" for i in range(1, settings.nodes + 1))}
        if frontend is None:
            self.gateway = SimGateway(self, api, random.Random(f"{seed}/gateway"))
        else:
            self.gateway = frontend(self)

    def watch(self, observer: Observer) -> None:
        """Tell ``observer`` every event from now on (golemsim.sim.observe); it must not change the run."""
        if not self.observers:
            self.trace.listener = self.observers.tell
            self.storage.on_append = self._appended
        self.observers.add(observer)

    def _appended(self, worker: WorkerId, first: int, entries: Sequence[OplogEntry]) -> None:
        fields = {"worker": str(worker), "first": first, "kinds": [e.kind for e in entries], "entries": tuple(entries)}
        self.observers.tell(self.env.now, APPENDED, fields)

    def scheduled(self) -> int:
        """Scheduled invocations (durable timers) not yet due, on every node."""
        return sum(len(h.executor.scheduled()) for n in self.nodes.values() for h in n.hosts.values())

    def node_queues(self) -> dict[str, int]:
        return {name: sum(h.executor.queued() for h in node.hosts.values()) for name, node in self.nodes.items()}

    def close(self) -> None:
        """Stop every thread still parked (at the end of a run)."""
        for node in self.nodes.values():
            node.power_off()
        self.baton.halt(self.gateway.owner, "the run ended")
        self.env.run(until=self.env.now + 1e-9)
