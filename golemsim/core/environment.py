"""The one seam between the executor and the outside world.

Everything the executor does that takes time or touches something outside the worker
goes through an Environment: reading clocks, drawing randomness, sleeping, calling
external services, routing an invocation to another worker, and committing oplog
entries. ``RealEnvironment`` does it for real; the simulation supplies its own, so the
same executor runs inside simulated time.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from .ids import WorkerId
from .oplog.entries import OplogEntry
from .oplog.store import OplogStore
from .services import ServiceRegistry
from .timers import Fire, TimerQueue, TimerThread


@dataclass(frozen=True)
class ServiceRequest:
    """One call to an external service."""

    service: str
    operation: str
    payload: Any
    idempotency_key: str


@dataclass(frozen=True)
class WorkerCall:
    """One worker-to-worker call: ``caller`` invokes ``function(*args)`` on ``target`` under ``key``."""

    caller: WorkerId
    target: WorkerId
    function: str
    args: list[Any]
    key: str


Router = Callable[[WorkerCall], Future[Any]]
"""Delivers a worker-to-worker call durably; the future resolves with the target's answer."""

Scheduler = Callable[[WorkerId, str, list[Any], int, str], None]
"""Durably schedules an invocation: ``(target, function, args, due_ms, idempotency_key)``."""


class Lock(Protocol):
    """A mutual-exclusion lock (``threading.Lock`` in real mode)."""

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool: ...

    def release(self) -> None: ...

    def __enter__(self) -> bool: ...

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any, /) -> Any: ...


class TimerDriver(Protocol):
    """Fires a TimerQueue's entries on time until stopped."""

    def stop(self) -> None: ...


class Environment(Protocol):
    """What the executor needs from the world around it.

    Besides clocks, randomness and I/O, the environment owns concurrency: it starts the
    executor's threads of control, makes its locks and waits on its futures, so a simulation
    can run the same executor one thread at a time inside simulated time.
    """

    def wall_clock_ns(self) -> int: ...

    def monotonic_ns(self) -> int: ...

    def random_bytes(self, count: int) -> bytes: ...

    def sleep(self, seconds: float) -> None: ...

    def call_service(self, request: ServiceRequest) -> Any:
        """Answer a request, or raise ServiceRejected / ServiceUnavailable."""
        ...

    def send_call(self, call: WorkerCall) -> Future[Any]:
        """Deliver a call to its target durably and exactly once (the same key joins or returns
        the first run), re-sending through lost answers, shard moves and partitions however long.

        Returns a future of the target's result: its exception is the target's definite refusal
        or failure. Raises CallCycle (or another GolemError) when the call is refused before
        delivery, so the target never runs it.
        """
        ...

    def schedule_invocation(
        self, target: WorkerId, function: str, args: list[Any], due_ms: int, idempotency_key: str
    ) -> None:
        """Durably schedule an invocation for wall-clock time ``due_ms``; a repeated key is a no-op."""
        ...

    def commit(self, store: OplogStore, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        """Make entries durable in the store (returns once they are)."""
        ...

    def guest_work(self, fuel: int) -> None:
        """A guest finished running or replaying an invocation that took ``fuel`` units of work (the
        simulation turns it into time)."""
        ...

    def spawn(self, name: str, run: Callable[[], None]) -> None:
        """Run ``run()`` on a thread of control of its own."""
        ...

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for everything spawned to finish."""
        ...

    def new_lock(self) -> Lock: ...

    def wait(self, future: Future[Any], timeout: float | None = None) -> Any:
        """The future's result (or its exception), waiting up to ``timeout`` seconds."""
        ...

    def start_timers(self, queue: TimerQueue, fire: Fire) -> TimerDriver:
        """Fire the queue's entries when they are due, from now on."""
        ...


def wall_clock_ms(environment: Environment) -> int:
    """The environment's wall clock in whole milliseconds since the epoch (what oplog entries carry)."""
    return environment.wall_clock_ns() // 1_000_000


class RealEnvironment:
    """Wall time, OS randomness, real sleeping, in-process services, the real oplog store."""

    def __init__(
        self,
        services: ServiceRegistry | None = None,
        *,
        router: Router | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.services = services or ServiceRegistry()
        self.router = router
        """Sends worker-to-worker calls (the executor's LocalCalls); None: this environment has none."""
        self.scheduler = scheduler
        self._threads: set[threading.Thread] = set()

    def wall_clock_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def random_bytes(self, count: int) -> bytes:
        return os.urandom(count)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def call_service(self, request: ServiceRequest) -> Any:
        service = self.services.get(request.service)
        return service.handle(request.operation, request.payload, request.idempotency_key)

    def send_call(self, call: WorkerCall) -> Future[Any]:
        if self.router is None:
            raise RuntimeError("this environment has no router for worker-to-worker calls")
        return self.router(call)

    def schedule_invocation(
        self, target: WorkerId, function: str, args: list[Any], due_ms: int, idempotency_key: str
    ) -> None:
        if self.scheduler is None:
            raise RuntimeError("this environment has no scheduler for scheduled invocations")
        self.scheduler(target, function, args, due_ms, idempotency_key)

    def commit(self, store: OplogStore, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        store.append(worker, first_index, entries)

    def guest_work(self, fuel: int) -> None:
        pass  # real guest work takes real time already

    def spawn(self, name: str, run: Callable[[], None]) -> None:
        def tracked() -> None:
            try:
                run()
            finally:
                self._threads.discard(thread)

        thread = threading.Thread(target=tracked, name=name, daemon=True)
        self._threads.add(thread)
        thread.start()

    def join(self, timeout: float) -> None:
        for thread in list(self._threads):
            thread.join(timeout)

    def new_lock(self) -> Lock:
        return threading.Lock()

    def wait(self, future: Future[Any], timeout: float | None = None) -> Any:
        return future.result(timeout)

    def start_timers(self, queue: TimerQueue, fire: Fire) -> TimerDriver:
        return TimerThread(queue, lambda: wall_clock_ms(self), fire)
