"""The core's Environment inside the simulation: simulated clocks, seeded randomness,
and every wait (sleep, service call, worker call, storage) as simulated time on a baton thread."""

from __future__ import annotations

import functools
import random
from collections.abc import Generator, Sequence
from concurrent.futures import Future
from typing import Any

import simpy

from ..core.environment import Lock, ServiceRequest, TimerDriver, WorkerCall, wall_clock_ms
from ..core.ids import WorkerId
from ..core.oplog.entries import OplogEntry
from ..core.oplog.store import OplogStore
from ..core.services import ServiceUnavailable
from ..core.timers import Fire, TimerQueue
from .baton import Baton, Owner, SimLock
from .network import NoResponse
from .world import EPOCH_NS as EPOCH_NS  # simulated time 0, on the guests' wall clock
from .world import World


class SimEnvironment:
    """The Environment of one shard's executor on one node."""

    def __init__(self, world: World, owner: Owner, endpoint: str, rng: random.Random) -> None:
        self.world = world
        self.owner = owner
        self.endpoint = endpoint
        self.rng = rng
        self.baton: Baton = world.baton
        self.env: simpy.Environment = world.env

    def wall_clock_ns(self) -> int:
        return self.world.now_ns()

    def monotonic_ns(self) -> int:
        return int(self.env.now * 1e9)

    def random_bytes(self, count: int) -> bytes:
        return self.rng.randbytes(count)

    def sleep(self, seconds: float) -> None:
        self.baton.sleep(seconds)

    def call_service(self, request: ServiceRequest) -> Any:
        services = self.world.services
        try:
            return self.baton.wait(
                self.world.network.request(
                    self.endpoint, "services", lambda: services.handle(request), self.world.settings.service_timeout
                )
            )
        except NoResponse as lost:
            raise ServiceUnavailable(f"{request.service}.{request.operation}: {lost}") from None

    def send_call(self, call: WorkerCall) -> Future[Any]:
        return self.world.calls.send(self.endpoint, self.owner, call)

    def schedule_invocation(
        self, target: WorkerId, function: str, args: list[Any], due_ms: int, idempotency_key: str
    ) -> None:
        self.world.router.schedule(self.endpoint, target, function, args, due_ms, idempotency_key)

    def commit(self, store: OplogStore, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        store.append(worker, first_index, entries)

    def guest_work(self, fuel: int) -> None:
        settings = self.world.settings
        seconds = settings.cpu_seconds_per_invocation + fuel * settings.cpu_seconds_per_fuel
        if seconds > 0:
            self.baton.sleep(seconds)

    def spawn(self, name: str, run: Any) -> None:
        self.baton.spawn(self.owner, name, run)

    def join(self, timeout: float) -> None:
        pass  # simulated threads end with their owner

    def new_lock(self) -> Lock:
        return SimLock(self.baton)

    def wait(self, future: Future[Any], timeout: float | None = None) -> Any:
        if not future.done():
            done = self.env.event()

            def finished(_: Future[Any]) -> None:
                if not done.triggered:
                    done.succeed()

            future.add_done_callback(finished)
            if timeout is None:
                self.baton.wait(done)
            else:
                self.baton.wait(done | self.env.timeout(timeout))
                if not future.done():
                    raise TimeoutError(f"no result within {timeout:g} simulated seconds")
        return future.result(0)

    def start_timers(self, queue: TimerQueue, fire: Fire) -> TimerDriver:
        return SimTimers(self, queue, fire)


class SimTimers:
    """Fires a TimerQueue from simulated time: one SimPy process per due time."""

    def __init__(self, environment: SimEnvironment, queue: TimerQueue, fire: Fire) -> None:
        self.environment = environment
        self.queue = queue
        self.fire = fire
        self.stopped = False
        queue.on_add = self._armed
        due = queue.next_due()
        if due is not None:
            self._armed(due)

    def _armed(self, due_ms: int) -> None:
        self.environment.env.process(self._at(due_ms))

    def _at(self, due_ms: int) -> Generator[simpy.Event, Any, None]:
        env = self.environment
        delay = (due_ms * 1_000_000 - env.wall_clock_ns()) / 1e9
        yield env.env.timeout(max(0.0, delay))
        if self.stopped:
            return
        due = self.queue.pop_due(wall_clock_ms(env))
        for worker, key in due:
            env.baton.spawn(env.owner, f"timer:{worker}", functools.partial(self.fire, worker, key))

    def stop(self) -> None:
        self.stopped = True
        self.queue.on_add = None
