"""Running an experiment: build the templates, start the cluster, the clients and the nemesis,
let the run settle, read every worker's final state, and check.

``run_experiment`` is the one entry point (the CLI's ``golemsim sim run`` calls it); the
results folder is written by ``golemsim.sim.results``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import simpy

from ..core.build import build_template
from ..core.engine import Engine
from ..core.errors import GolemError
from ..core.executor import Executor
from ..core.ids import WorkerId
from ..core.oplog.memory_store import MemoryOplogStore
from ..core.oplog.sqlite_store import SQLiteOplogStore
from ..core.oplog.store import OplogStore
from ..core.policy import SnapshotPolicy
from ..core.templates import MemoryTemplateStore, TemplateRegistry
from ..gateway import ApiDefinition, load_api_definition
from ..locations import templates_dir
from . import call_checkers, checkers
from .baton import Owner
from .checkers import Verdict
from .clients import ClientOp, Clients
from .cluster import Cluster
from .committed import CommittedOplogs
from .experiment import Experiment
from .lambda_baseline import LambdaCheckout
from .nemesis import Fault, Nemesis
from .node import UP
from .observe import Observer
from .user_app import RunData, check_invariant, load_invariant, load_workload
from .workloads import Keys, Workload
from .world import Call

log = logging.getLogger("golemsim.sim")

PROGRESS_EVERY = 1.0
"""Simulated seconds between progress reports."""
SETTLE_LIMIT = 300.0
"""Simulated seconds the run may take after the clients finish, to let work drain."""

Progress = Callable[[str, float], None]
"""Told (phase, fraction done) as a run goes."""


@dataclass
class RunResult:
    experiment: Experiment
    seed: int
    variant: str
    """"workers" (durable execution) or "lambda" (the baseline)."""
    verdicts: list[Verdict]
    summary: dict[str, Any]
    trace_digest: str
    cluster: Cluster
    history: list[ClientOp]
    faults: list[Fault]
    final_states: dict[WorkerId, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def valid(self) -> bool:
        return all(v.valid for v in self.verdicts)


@runtime_checkable
class Starts(Protocol):
    """An observer told when a run starts, before anything happens in it."""

    def started(self, cluster: Cluster) -> None: ...


@runtime_checkable
class Finishes(Protocol):
    """An observer told the result when a run ends."""

    def finished(self, result: RunResult) -> None: ...


def templates_for(names: tuple[str, ...], snapshots: SnapshotPolicy | None = None) -> TemplateRegistry:
    """A registry with the app's templates deployed (built first when needed); ``snapshots``,
    when given, replaces the snapshot policy the templates carry."""
    return templates_from({name: templates_dir() / name for name in names}, snapshots)


def templates_from(folders: dict[str, Path], snapshots: SnapshotPolicy | None = None) -> TemplateRegistry:
    """A registry with each folder's template deployed under its name (built first when needed)."""
    registry = TemplateRegistry(MemoryTemplateStore(), Engine())
    for name, folder in folders.items():
        built = build_template(folder)
        snapshot = snapshots or built.snapshot
        registry.deploy(name, built.wasm_path.read_bytes(), retry=built.retry, snapshot=snapshot)
    return registry


def experiment_templates(experiment: Experiment) -> TemplateRegistry:
    """A registry with the experiment's templates deployed (built first when needed), with the
    snapshot policy its cluster settings give, if any."""
    return templates_from(experiment.files.templates, experiment.cluster.snapshots)


def _app(experiment: Experiment, registry: TemplateRegistry | None) -> tuple[Workload, TemplateRegistry, ApiDefinition]:
    """The experiment's workload, templates and API, from the files it names."""
    keys = Keys(experiment.keys.keys, experiment.keys.distribution, experiment.keys.zipf_s)
    files = experiment.files
    workload = load_workload(files.workload)(keys)
    registry = registry or experiment_templates(experiment)
    return workload, registry, load_api_definition(files.api)


def run_experiment(
    experiment: Experiment,
    *,
    seed: int | None = None,
    out: Path | None = None,
    progress: Progress | None = None,
    variant: str = "workers",
    registry: TemplateRegistry | None = None,
    observers: Sequence[Observer] = (),
) -> RunResult:
    """Run one experiment (with the durable workers, or the lambda baseline) and check it.

    ``observers`` watch the run as it goes (golemsim.sim.observe); they do not change it."""
    seed = experiment.seed if seed is None else seed
    started = time.monotonic()
    workload, registry, api = _app(experiment, registry)
    store = _store(experiment, out, variant)
    frontend = LambdaCheckout if variant == "lambda" else None
    cluster = Cluster(seed, experiment.cluster, registry, store, api, frontend=frontend)
    for observer in observers:
        cluster.watch(observer)
    for observer in cluster.observers:
        if isinstance(observer, Starts):
            observer.started(cluster)
    nemesis = Nemesis(
        cluster, list(experiment.faults), random.Random(f"{seed}/nemesis"), lambda f: _deploy(registry, f, experiment)
    )
    clients = Clients(cluster, workload, experiment.clients, random.Random(f"{seed}/clients"))
    done = clients.start()
    nemesis.start(experiment.random_faults, done)
    cluster.env.process(_sample_queues(cluster))
    report = progress or (lambda phase, fraction: None)
    _run_until(cluster, done, experiment.max_duration, lambda: clients.finished / experiment.clients.operations, report)
    end_of_load = cluster.env.now
    _settle(cluster, nemesis)
    settled = cluster.env.now
    report("reading final states", 0.0)
    cluster.measuring = False
    final_states = _final_states(cluster, workload, experiment.check_limit, seed) if variant == "workers" else {}
    cluster.close()
    report("checking", 0.0)
    oplogs = CommittedOplogs(cluster.storage.store)  # each oplog read and digested once, for every check
    verdicts = _check(cluster, oplogs, clients.history, workload, final_states, variant)
    services = cluster.services
    data = RunData(
        clients.history,
        final_states,
        oplogs,
        list(services.ledger),
        dict(services.store.stock),
        services.settings.default_stock,
        workload,
    )
    for reference in experiment.files.invariants:
        verdicts.append(check_invariant(reference, load_invariant(reference), data))
    summary = cluster.metrics.summary(end_of_load)
    summary.update(
        {
            "variant": variant,
            "seed": seed,
            "simulated_seconds": round(end_of_load, 6),
            "settled_at": round(settled, 6),
            "workers": len(cluster.storage.store.workers()),
            "trace_events": cluster.trace.count,
            "trace_sha256": cluster.trace.digest,
            "storage": {
                "commits": cluster.storage.commits,
                "appended": cluster.storage.appended,
                "fenced": cluster.storage.fenced,
            },
            "network": {"sent": cluster.network.sent, "dropped": cluster.network.dropped},
            "template_updates": nemesis.update_outcomes,
            "thread_failures": cluster.baton.failures,
        }
    )
    if cluster.baton.failures:
        failures = cluster.baton.failures
        verdicts.append(Verdict("no-internal-errors", False, 1, [{"threads": failures[:5]}], failures=len(failures)))
    result = RunResult(
        experiment,
        seed,
        variant,
        verdicts,
        summary,
        cluster.trace.digest,
        cluster,
        clients.history,
        nemesis.applied,
        final_states,
    )
    result.wall_seconds = time.monotonic() - started
    if isinstance(store, SQLiteOplogStore):
        store.close()
    for observer in cluster.observers:
        if isinstance(observer, Finishes):
            observer.finished(result)
    return result


def _store(experiment: Experiment, out: Path | None, variant: str) -> OplogStore:
    if experiment.store == "memory" or out is None or variant == "lambda":  # the lambdas keep no oplogs
        return MemoryOplogStore()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"oplogs-{variant}.db"
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    return SQLiteOplogStore(path, fsync=False)  # durability is simulated; the file is for inspection


def _deploy(registry: TemplateRegistry, fault: Fault, experiment: Experiment) -> int:
    built = build_template(update_source(fault.source, experiment))
    info = registry.deploy(fault.target, built.wasm_path.read_bytes(), retry=built.retry, snapshot=built.snapshot)
    return info.version


def update_source(source: str, experiment: Experiment) -> Path:
    """The folder (or prebuilt component) of a template update's new version: relative to the
    experiment file, else (for an experiment written inline, e.g. in a notebook) to golemsim's
    repository."""
    beside = Path(experiment.source).parent / source
    return beside if beside.exists() else templates_dir().parent / source


def _run_until(
    cluster: Cluster, done: simpy.Process, limit: float, fraction: Callable[[], float], report: Progress
) -> None:
    env = cluster.env
    while not done.triggered and env.now < limit:
        env.run(until=simpy.AnyOf(env, [done, env.timeout(min(PROGRESS_EVERY, limit - env.now))]))
        report("running", min(1.0, fraction()))
    report("running", 1.0)


def _settle(cluster: Cluster, nemesis: Nemesis) -> None:
    """Let running faults heal and queued work finish, so the checks see the end state."""
    env = cluster.env
    deadline = env.now + SETTLE_LIMIT
    while env.now < deadline:
        env.run(until=env.now + 0.5)
        quiet = (
            nemesis.active == 0
            and all(n.state == UP for n in cluster.nodes.values())
            and not any(cluster.node_queues().values())
            and not cluster.scheduled()
            and not cluster.storage.pending_appends
            and not cluster.calls.in_flight
        )
        if quiet:
            env.run(until=env.now + 2 * cluster.settings.heartbeat_timeout)  # let the shard map settle too
            return


def _sample_queues(cluster: Cluster) -> Generator[simpy.Event, Any, None]:
    while True:
        yield cluster.env.timeout(0.25)
        for node, queued in sorted(cluster.node_queues().items()):
            cluster.metrics.queues.append((cluster.env.now, node, queued))


def _final_states(cluster: Cluster, workload: Workload, limit: int, seed: int) -> dict[WorkerId, Any]:
    """Each worker's state as the cluster answers (its state function, through the router)."""
    workers = [w for w, _ in cluster.storage.store.workers() if w.template in workload.state_function]
    if len(workers) > limit:
        workers = sorted(random.Random(f"{seed}/check").sample(workers, limit), key=str)
    states: dict[WorkerId, Any] = {}
    operator = Owner("checker")

    def read(worker: WorkerId) -> None:
        function = workload.state_function[worker.template]
        key = f"final-state/{worker}"

        def run(executor: Executor) -> Any:
            return executor.invoke(worker.template, worker.name, function, [], idempotency_key=key)

        try:
            states[worker] = cluster.router.call("checker", worker, Call("final-state", run))
        except GolemError as error:
            states[worker] = {"unreadable": str(error)}

    def all_reads() -> None:
        for worker in workers:
            read(worker)

    finished = cluster.baton.call(operator, "final-states", all_reads)
    cluster.env.run(until=finished)
    return states


def _check(
    cluster: Cluster,
    store: CommittedOplogs,
    history: list[ClientOp],
    workload: Workload,
    final_states: dict[WorkerId, Any],
    variant: str,
) -> list[Verdict]:
    ledger = cluster.services.ledger
    verdicts: list[Verdict] = []
    if variant == "workers":
        verdicts.append(checkers.no_acknowledged_invocation_lost(history, store))
        verdicts.append(checkers.effects_once(history, store, ledger))
        now_ns = cluster.now_ns()
        verdicts.append(
            checkers.serial_replay_matches(store, cluster.templates, final_states, workload.state_function, now_ns)
        )
        verdicts.append(call_checkers.worker_calls_agree(store))
        verdicts.append(call_checkers.nothing_stuck(store, now_ns // 1_000_000))
    else:
        verdicts.append(checkers.effects_once([], store, ledger))
    return verdicts
