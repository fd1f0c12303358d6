"""The nemesis: applies a fault plan to a cluster. A plan is data: written by hand
("at t=30 s crash node-2 for 10 s") or drawn from a seed with a rate per fault kind.

Kinds: crash (a node; restarts after ``duration``), partition (``groups`` of endpoints cut
from each other), loss (extra message loss ``rate``), slow-storage (latency ``factor``),
storage-down, upgrade (every node in turn; ``mode`` drain or hard), template-update (deploy
``source`` as the template's next version and update its workers; ``mode`` auto or snapshot).
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import simpy

from ..core.errors import BadRequest, GolemError
from ..core.ids import WorkerId
from .baton import Owner
from .node import CRASHED, UP
from .router import Router

if TYPE_CHECKING:
    from .cluster import Cluster

FAULT_KINDS = ("crash", "partition", "loss", "slow-storage", "storage-down", "upgrade", "template-update")
RANDOM_KINDS = ("crash", "partition", "loss", "slow-storage", "storage-down")
"""Kinds a random plan can draw (upgrades and template updates are scripted)."""


@dataclass(frozen=True)
class Fault:
    at: float
    kind: str
    target: str = ""
    """A node for crash ("random": drawn from the seed); the template for template-update."""
    duration: float = 5.0
    groups: tuple[tuple[str, ...], ...] = ()
    rate: float = 0.2
    factor: float = 10.0
    mode: str = ""
    source: str = ""

    def describe(self) -> str:
        what = {
            "crash": f"crash {self.target} for {self.duration:g} s",
            "partition": f"partition {' | '.join(','.join(g) for g in self.groups)} for {self.duration:g} s",
            "loss": f"lose {self.rate:.0%} of messages for {self.duration:g} s",
            "slow-storage": f"storage {self.factor:g}x slower for {self.duration:g} s",
            "storage-down": f"storage unavailable for {self.duration:g} s",
            "upgrade": f"{self.mode or 'drain'} platform upgrade, {self.duration:g} s per node",
            "template-update": f"update {self.target} workers to {self.source} ({self.mode or 'auto'})",
        }[self.kind]
        return f"t={self.at:g}s {what}"


@dataclass(frozen=True)
class RandomFaults:
    """Faults drawn from the seed while the clients run: ``rates`` per minute for each kind,
    from ``start`` until ``end`` (None: until the clients are done)."""

    rates: dict[str, float] = field(default_factory=dict)
    start: float = 2.0
    end: float | None = None
    mean_duration: float = 4.0

    def make(self, kind: str, at: float, rng: random.Random, nodes: list[str]) -> Fault:
        """One fault of ``kind`` starting at ``at``, its target and duration drawn from ``rng``."""
        duration = round(rng.expovariate(1 / self.mean_duration), 3)
        if kind == "crash":
            return Fault(round(at, 6), kind, rng.choice(nodes), duration)
        if kind == "partition":
            cut = rng.choice(nodes)
            other = rng.choice(["storage", "gateway", "shards"])
            return Fault(round(at, 6), kind, duration=duration, groups=((cut,), (other,)))
        if kind not in RANDOM_KINDS:
            raise BadRequest(f"faults of kind {kind!r} cannot be drawn at random (use one of {RANDOM_KINDS})")
        return Fault(round(at, 6), kind, duration=duration)


class Nemesis:
    """Runs a plan's faults at their times."""

    def __init__(self, cluster: Cluster, plan: list[Fault], rng: random.Random, deploy: Callable[[Fault], int]) -> None:
        self.cluster = cluster
        self.plan = sorted(plan, key=lambda f: f.at)
        self.rng = rng
        self.deploy = deploy
        """Deploys a template-update fault's source; returns the new version."""
        self.owner = Owner("operator")
        self.update_outcomes: list[dict[str, Any]] = []
        self.applied: list[Fault] = []
        self.active = 0
        """Faults in progress."""
        """Every fault that started, scripted or drawn, in the order they started."""

    def start(self, drawn: RandomFaults | None = None, load_done: simpy.Event | None = None) -> None:
        """Schedule the plan's faults; with ``drawn``, also draw faults until ``load_done``."""
        for fault in self.plan:
            self.cluster.env.process(self._run(fault))
        if drawn is not None:
            for kind in sorted(drawn.rates):
                if drawn.rates[kind] > 0:
                    self.cluster.env.process(self._draw(kind, drawn, load_done))

    def _draw(self, kind: str, drawn: RandomFaults, load_done: simpy.Event | None) -> Generator[simpy.Event, Any, None]:
        env = self.cluster.env
        rng = random.Random(f"{self.cluster.seed}/faults/{kind}")
        yield env.timeout(drawn.start)
        while True:
            yield env.timeout(rng.expovariate(drawn.rates[kind] / 60.0))
            if (load_done is not None and load_done.triggered) or (drawn.end is not None and env.now >= drawn.end):
                return
            env.process(self._run(drawn.make(kind, env.now, rng, sorted(self.cluster.nodes))))

    def _run(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        env = self.cluster.env
        yield env.timeout(max(0.0, fault.at - env.now))
        self.applied.append(fault)
        self.active += 1
        self.cluster.trace.record(env.now, "fault", kind=fault.kind, what=fault.describe())
        start = env.now
        yield env.process(getattr(self, "_" + fault.kind.replace("-", "_"))(fault))
        target = fault.target or ",".join("/".join(g) for g in fault.groups)
        self.cluster.metrics.fault(fault.kind, target, start, env.now)
        self.cluster.trace.record(env.now, "healed", kind=fault.kind)
        self.active -= 1

    def _node(self, fault: Fault) -> str:
        names = sorted(self.cluster.nodes)
        if fault.target in ("", "random"):
            return self.rng.choice(names)
        if fault.target not in self.cluster.nodes:
            raise BadRequest(f"fault at t={fault.at:g}: no node {fault.target!r} (nodes: {', '.join(names)})")
        return fault.target

    def _crash(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        node = self.cluster.nodes[self._node(fault)]
        if node.state == CRASHED:
            return
        node.crash()
        self.cluster.metrics.count("crashes")
        yield self.cluster.env.process(node.restart(fault.duration))

    def _partition(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        from .network import Partition

        cut = Partition(fault.groups[0], fault.groups[1])
        self.cluster.network.partitions.append(cut)
        yield self.cluster.env.timeout(fault.duration)
        self.cluster.network.partitions.remove(cut)

    def _loss(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        network = self.cluster.network
        network.extra_loss += fault.rate
        yield self.cluster.env.timeout(fault.duration)
        network.extra_loss -= fault.rate

    def _slow_storage(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        storage = self.cluster.storage
        storage.slowdown *= fault.factor
        yield self.cluster.env.timeout(fault.duration)
        storage.slowdown /= fault.factor

    def _storage_down(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        self.cluster.storage.set_available(False)
        yield self.cluster.env.timeout(fault.duration)
        self.cluster.storage.set_available(True)

    def _upgrade(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        """Every node in turn: drain and hand off its shards (or crash it), down, back, rejoined."""
        env = self.cluster.env
        settings = self.cluster.settings
        for name in sorted(self.cluster.nodes):
            node = self.cluster.nodes[name]
            if node.state != UP:
                continue
            if fault.mode == "hard":
                node.crash()
            else:
                yield env.process(node.drain())
                node.stop_for_upgrade()
            yield env.process(node.restart(fault.duration))
            yield env.timeout(2 * settings.heartbeat_interval)  # let it rejoin before the next one

    def _template_update(self, fault: Fault) -> Generator[simpy.Event, Any, None]:
        """Deploy the new version, then update every worker of the template, one call each."""
        cluster = self.cluster
        version = self.deploy(fault)
        mode = fault.mode or "auto"
        workers = [w for w, _ in cluster.storage.store.workers() if w.template == fault.target]
        router: Router = cluster.router
        calls = [
            cluster.baton.call(self.owner, f"update:{w}", functools.partial(self._update, router, w, version, mode))
            for w in workers
        ]
        if calls:
            yield simpy.AllOf(cluster.env, calls)

    def _update(self, router: Router, worker: WorkerId, version: int, mode: str) -> None:
        try:
            outcome = router.update("operator", worker, version, mode)
            ok, reason = bool(outcome.succeeded), outcome.reason
        except GolemError as error:
            ok, reason = False, str(error)
        self.cluster.metrics.count("updates_succeeded" if ok else "updates_failed")
        self.update_outcomes.append(
            {"worker": str(worker), "version": version, "mode": mode, "ok": ok, "reason": reason}
        )
        self.cluster.trace.record(self.cluster.env.now, "update", worker=str(worker), ok=ok)
