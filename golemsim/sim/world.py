"""What every part of a simulated run shares: the clock, the baton, the network, the oplog
storage, the external services, the trace and metrics, the settings and the templates; and,
as narrow protocols, the parts that call each other (nodes, shard directory, router, worker
calls, the gateway), which golemsim.sim.cluster builds and wires in.

Parts take a World rather than the Cluster, so no part imports the cluster. This module
imports only simulation modules that import no other (baton, metrics, network, observe,
services, storage, trace): it sits at the bottom of the simulation's imports.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Generator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

import simpy

from ..core.environment import WorkerCall
from ..core.executor import Executor
from ..core.ids import WorkerId
from ..core.ids import shard_of as shard_of  # shared with the real executor processes (golemsim.scaleout)
from ..core.oplog.store import OplogStore
from ..core.policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from ..core.templates import TemplateRegistry
from ..gateway import Request, Response
from .baton import Baton, Owner
from .metrics import Metrics, Recovery
from .network import Network, NetworkSettings
from .observe import REPLAY, Observers
from .services import ServiceSettings, SimServices
from .storage import OplogStorage, StorageSettings
from .trace import Trace

EPOCH_NS = 1_798_761_600 * 1_000_000_000
"""Simulated time 0 on the wall clock: 2027-01-01T00:00:00Z."""


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


@dataclass(frozen=True)
class Call:
    """A request to a node's executor, run on a simulated thread of the shard's host."""

    name: str
    run: Callable[[Executor], Any]


@dataclass(frozen=True)
class Bound:
    """Which invocation a request became (for the checkers)."""

    worker: WorkerId
    function: str
    args: list[Any]
    key: str | None


class NodeView(Protocol):
    """A node as the other parts see it."""

    name: str
    state: str
    incarnation: int

    def handle(self, shard: int, epoch: int, call: Call) -> Generator[simpy.Event, Any, Any]: ...

    def release(self, shard: int, grace: float) -> Generator[simpy.Event, Any, None]: ...


class ShardDirectory(Protocol):
    """The shard manager as nodes and the router see it."""

    def owner(self, shard: int) -> tuple[str, int] | None: ...

    def heartbeat(self, node: str, draining: bool) -> Generator[simpy.Event, Any, dict[int, int]]: ...

    def evacuate(self, node: str) -> Generator[simpy.Event, Any, None]: ...


class Routing(Protocol):
    """The router as the gateway, worker calls and executors' environments see it."""

    def invoke(
        self, source: str, worker: WorkerId, function: str, args: list[Any], key: str, *, until_answered: bool = False
    ) -> Any: ...

    def schedule(
        self, source: str, worker: WorkerId, function: str, args: list[Any], due_ms: int, key: str
    ) -> None: ...

    def complete_promise(self, source: str, promise_id: str, value: Any) -> bool: ...


class CallSender(Protocol):
    """Delivers worker-to-worker calls (golemsim.sim.worker_calls)."""

    def send(self, endpoint: str, owner: Owner, call: WorkerCall) -> Future[Any]: ...


class Frontend(Protocol):
    """What answers the clients (endpoint "gateway"): the simulated API gateway, or the lambda baseline."""

    owner: Owner

    def handle(self, request: Request) -> Generator[simpy.Event, Any, tuple[Response, Bound | None]]:
        """Answer one request (SimPy side); also says which invocation it became, if one."""
        ...


class World:
    """The services of one run that every part shares, and the parts wired in after them."""

    nodes: Mapping[str, NodeView]
    shard_manager: ShardDirectory
    router: Routing
    calls: CallSender
    gateway: Frontend

    def __init__(
        self, seed: int, settings: ClusterSettings, templates: TemplateRegistry, store: OplogStore, *, keep_trace: bool
    ) -> None:
        self.seed = seed
        self.settings = settings
        self.templates = templates
        self.env = simpy.Environment()
        self.baton = Baton(self.env)
        self.trace = Trace(keep=keep_trace)
        self.metrics = Metrics()
        self.observers = Observers()
        self.measuring = True
        """False once the run is over and the checkers read the workers (their rebuilds are not the run's)."""
        self._rng = random.Random(f"{seed}/cluster")
        self.network = Network(self.env, random.Random(f"{seed}/network"), settings.network)
        self.storage = OplogStorage(self.env, store, settings.storage)
        self.services = SimServices(self.env, random.Random(f"{seed}/services"), settings.services)

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

    def replaying(self, node: str, worker: WorkerId, index: int, end: int) -> None:
        """A rebuild on ``node`` has replayed ``worker``'s oplog up to ``index`` of ``end`` (told to observers)."""
        if self.observers and self.measuring:
            self.observers.tell(self.env.now, REPLAY, {"worker": str(worker), "node": node, "index": index, "end": end})
