"""A virtual cluster: nodes running the real executor core, a shard manager, the oplog
storage service, a network, the API gateway and the external services, in one SimPy world.

Everything random draws from generators seeded from the run's seed, and every thread of
the core runs under one baton, so the same seed gives the same run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import simpy

from ..core.ids import WorkerId
from ..core.oplog.entries import OplogEntry
from ..core.oplog.store import OplogStore
from ..core.policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from ..core.templates import TemplateRegistry
from ..gateway import ApiDefinition
from .baton import Baton
from .gateway import SimGateway
from .metrics import Metrics, Recovery
from .network import Network, NetworkSettings
from .node import Node
from .observe import APPENDED, REPLAY, Observer, Observers
from .router import Router
from .services import ServiceSettings, SimServices
from .shards import ShardManager, shard_of
from .sim_environment import EPOCH_NS
from .storage import OplogStorage, StorageSettings
from .trace import Trace
from .worker_calls import WorkerCalls


@dataclass(frozen=True)
class ClusterSettings:
    nodes: int = 3
    shards: int = 12
    max_live_per_node: int = 64
    """Live instances a node keeps, shared evenly by the executors of its shards; idle ones
    beyond it are suspended (their instance dropped, rebuilt from the oplog when needed)."""
    boot_time: float = 0.5
    """Seconds a node takes to start (state restarting) before it rejoins."""
    heartbeat_interval: float = 0.5
    heartbeat_timeout: float = 2.0
    handoff_grace: float = 2.0
    """Seconds a node lets running calls finish when it hands a shard off."""
    request_timeout: float = 3.0
    """Gateway (or worker) to node: seconds before the call is sent again."""
    call_deadline: float = 60.0
    """Seconds the gateway's router keeps retrying a request before it answers 504 "pending" (with
    the idempotency key to ask again with). Worker-to-worker calls have no deadline: they are
    re-sent with the same key until the target answers."""
    retry_backoff: float = 0.1
    storage_timeout: float = 2.0
    service_timeout: float = 1.0
    cpu_seconds_per_invocation: float = 0.001
    """Simulated guest CPU time of each invocation run or replayed."""
    cpu_seconds_per_fuel: float = 0.0
    """Added simulated guest CPU time per unit of wasmtime fuel (about one WebAssembly instruction).
    Off by default: fuel is deterministic for one component binary, but two builds of the same
    template differ (componentize-py builds are not byte for byte reproducible), so a run that
    counts fuel reproduces from its seed only with the very same build."""
    suspend_after: float = 1.0
    limits: ResourceLimits = field(default_factory=lambda: ResourceLimits(timeout_seconds=None))
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=8, initial_delay=0.05, max_delay=1.0))
    snapshots: SnapshotPolicy | None = None
    """When to snapshot workers; when set, it replaces the policies the templates carry (unless
    the run is given a ready-made template registry)."""
    network: NetworkSettings = field(default_factory=NetworkSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    services: ServiceSettings = field(default_factory=ServiceSettings)


class Cluster:
    """The pieces of one simulated run, wired together."""

    def __init__(
        self,
        seed: int,
        settings: ClusterSettings,
        templates: TemplateRegistry,
        store: OplogStore,
        api: ApiDefinition,
        *,
        keep_trace: bool = True,
    ) -> None:
        self.seed = seed
        self.settings = settings
        self.templates = templates
        self.env = simpy.Environment()
        self.baton = Baton(self.env)
        self.trace = Trace(keep=keep_trace)
        self.metrics = Metrics()
        self.measuring = True
        """False once the run is over and the checkers read the workers (their rebuilds are not the run's)."""
        self._rng = random.Random(f"{seed}/cluster")
        self.network = Network(self.env, random.Random(f"{seed}/network"), settings.network)
        self.storage = OplogStorage(self.env, store, settings.storage)
        self.services = SimServices(self.env, random.Random(f"{seed}/services"), settings.services)
        self.shard_manager = ShardManager(self, settings.shards)
        self.router = Router(self)
        self.calls = WorkerCalls(self)
        self.nodes = {name: Node(self, name) for name in (f"node-{i}" for i in range(1, settings.nodes + 1))}
        self.gateway = SimGateway(self, api, random.Random(f"{seed}/gateway"))
        self.observers = Observers()

    def watch(self, observer: Observer) -> None:
        """Tell ``observer`` every event from now on (golemsim.sim.observe); it must not change the run."""
        if not self.observers:
            self.trace.listener = self.observers.tell
            self.storage.on_append = self._appended
        self.observers.add(observer)

    def _appended(self, worker: WorkerId, first: int, entries: Sequence[OplogEntry]) -> None:
        fields = {"worker": str(worker), "first": first, "kinds": [e.kind for e in entries], "entries": tuple(entries)}
        self.observers.tell(self.env.now, APPENDED, fields)

    def replaying(self, node: str, worker: WorkerId, index: int, end: int) -> None:
        """A rebuild on ``node`` has replayed ``worker``'s oplog up to ``index`` of ``end`` (told to observers)."""
        if self.observers and self.measuring:
            self.observers.tell(self.env.now, REPLAY, {"worker": str(worker), "node": node, "index": index, "end": end})

    def shard_of(self, worker: WorkerId) -> int:
        return shard_of(worker, self.settings.shards)

    def now_ns(self) -> int:
        """Simulated time on the wall clock the guests see (EPOCH_NS at time 0)."""
        return EPOCH_NS + int(self.env.now * 1e9)

    def now_ms(self) -> int:
        return self.now_ns() // 1_000_000

    def new_uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def recovered(self, node: str, worker: WorkerId, mode: str, invocations: int, entries: int, seconds: float) -> None:
        """An instance was rebuilt by replay (told by a shard's executor), while the run is measured."""
        if not self.measuring:
            return
        self.metrics.recoveries.append(Recovery(self.env.now, str(worker), node, mode, invocations, entries, seconds))
        if invocations or entries:
            self.trace.record(self.env.now, "recovered", worker=str(worker), node=node, mode=mode, entries=entries)

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
