"""A worker's instance built afresh, and a serial replay: its completed invocations re-run one
after another with no failure between them, outside any executor (the simulation's checkers
compare the state it reaches with the state the cluster reached)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .environment import Environment, RealEnvironment
from .history import History
from .ids import WorkerId
from .instance import WorkerInstance, fresh_instance
from .oplog.memory_store import MemoryOplogStore
from .oplog_writer import OplogWriter
from .policy import ResourceLimits, RetryPolicy
from .recovery import replay_completed
from .templates import TemplateRegistry


class FrozenClock(RealEnvironment):
    """Clocks that stand still at ``now_ns`` and randomness seeded from it: what runs live after
    a serial replay (a state read) needs a clock, and must not depend on when it runs."""

    def __init__(self, now_ns: int) -> None:
        super().__init__()
        self.now_ns = now_ns

    def wall_clock_ns(self) -> int:
        return self.now_ns

    def monotonic_ns(self) -> int:
        return self.now_ns

    def random_bytes(self, count: int) -> bytes:
        return random.Random(self.now_ns).randbytes(count)


@dataclass(frozen=True)
class SerialReplay:
    instance: WorkerInstance
    """At the state after the last completed invocation; its oplog is in memory, apart from the worker's."""
    replayed: int
    """How many completed invocations it re-ran."""


def replay_serially(
    worker: WorkerId, history: History, templates: TemplateRegistry, environment: Environment
) -> SerialReplay:
    """A fresh instance of ``worker`` (at its history's template version) that has re-run every
    completed invocation in order, host calls answered from the oplog. Raises ReplayDivergence
    when a result is not the recorded one."""
    writer = OplogWriter(worker, MemoryOplogStore(), environment, history.length)
    instance = fresh_instance(
        worker,
        templates,
        environment,
        writer,
        limits=ResourceLimits(timeout_seconds=None),
        retry=RetryPolicy(),
        version=history.version,
    )
    return SerialReplay(instance, replay_completed(instance, history))
