"""Clients: workload generators that send requests to the gateway and record what they saw.

Open loop: requests arrive at a rate (exponential gaps), whatever the answers. Closed loop:
each client sends, waits for the answer, thinks, and sends again. A request that times out
is sent again with the same Idempotency-Key, up to ``retries`` times.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from ..gateway import Request, Response
from .network import NoResponse
from .workloads import Operation, Workload
from .world import Bound, World


@dataclass(frozen=True)
class ClientSettings:
    mode: str = "closed"
    """open (arrivals at ``rate`` per second) or closed (``clients`` each waiting for answers)."""
    rate: float = 50.0
    clients: int = 8
    think: float = 0.05
    """Closed loop: seconds between an answer and the next request."""
    timeout: float = 5.0
    retries: int = 3
    operations: int = 200
    """How many operations in all (the run ends when all are answered or given up)."""


@dataclass
class ClientOp:
    """One operation as the client saw it: sent, then answered, failed or timed out."""

    n: int
    client: str
    op: Operation
    sent: float
    done: float | None = None
    outcome: str = "pending"
    """ok (2xx), error (an answer that is not 2xx) or timeout (no answer after every retry)."""
    status: int | None = None
    response: Any = None
    attempts: int = 0
    bound: Bound | None = None
    """The invocation the gateway made of it (None if no attempt reached the gateway)."""

    def record(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "client": self.client,
            "op": self.op.name,
            "method": self.op.method,
            "path": self.op.path,
            "key": self.op.key,
            "sent": round(self.sent, 6),
            "done": None if self.done is None else round(self.done, 6),
            "outcome": self.outcome,
            "status": self.status,
            "attempts": self.attempts,
            "worker": None if self.bound is None else str(self.bound.worker),
        }


@dataclass
class Clients:
    """Every client of a run and the history they recorded."""

    world: World
    workload: Workload
    settings: ClientSettings
    rng: random.Random
    history: list[ClientOp] = field(default_factory=list)
    finished: int = 0
    """Operations answered or given up."""

    def start(self) -> simpy.Process:
        return self.world.env.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        for op in self.workload.setup(self.world.now_ms()):
            yield env.process(self._perform("client-setup", op))
        s = self.settings
        counter = iter(range(s.operations))
        if s.mode == "open":
            running = []
            for n in counter:
                op = self.workload.next(self.rng, n, self.world.now_ms())
                running.append(env.process(self._perform(f"client-{n % 16}", op, n)))
                yield env.timeout(self.rng.expovariate(s.rate))
            yield simpy.AllOf(env, running)
        else:
            loops = [env.process(self._closed_loop(f"client-{i}", counter)) for i in range(s.clients)]
            yield simpy.AllOf(env, loops)

    def _closed_loop(self, name: str, counter: Any) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        for n in counter:
            yield env.process(self._perform(name, self.workload.next(self.rng, n, self.world.now_ms()), n))
            yield env.timeout(self.rng.expovariate(1 / self.settings.think) if self.settings.think > 0 else 0)

    def _perform(self, client: str, op: Operation, n: int = -1) -> Generator[simpy.Event, Any, None]:
        world = self.world
        env = world.env
        record = ClientOp(n, client, op, env.now)
        self.history.append(record)
        headers = {"Idempotency-Key": op.key}
        request = Request.json(op.method, op.path, op.body, headers)
        gateway = world.gateway
        for attempt in range(1, self.settings.retries + 2):
            record.attempts = attempt
            try:
                response, bound = yield world.network.request(
                    client, "gateway", lambda: gateway.handle(request), self.settings.timeout
                )
            except NoResponse:
                continue
            record.bound = bound or record.bound
            if response.status in (503, 504) and attempt <= self.settings.retries:  # retry: ask again, same key
                if response.status == 504:  # "pending": accepted, not answered by the gateway's deadline
                    world.metrics.count("pending_answers")
                yield env.timeout(0.1 * attempt)
                continue
            self._finish(record, response)
            return
        self._finish(record, None)

    def _finish(self, record: ClientOp, response: Response | None) -> None:
        """The operation is over: answered (ok or error), or timed out after every retry."""
        env = self.world.env
        record.done = env.now
        self.finished += 1
        if response is None:
            record.outcome = "timeout"
            self.world.trace.record(env.now, "client", n=record.n, key=record.op.key, outcome="timeout")
        else:
            record.status = response.status
            record.response = response.body
            record.outcome = "ok" if 200 <= response.status < 300 else "error"
            self.world.trace.record(
                env.now, "client", n=record.n, key=record.op.key, outcome=record.outcome, status=response.status
            )
        self.world.metrics.latencies.append((env.now, env.now - record.sent, record.outcome))
