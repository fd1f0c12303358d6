"""The simulated network: latency with jitter, message loss, and partitions between endpoints.

Endpoints are names ("client-3", "gateway", "node-2", "storage", "services", "shards").
A partition cuts every message between two groups of endpoints, both ways; a group is a
list of names or name prefixes ending in ``*`` ("client-*", "node-*").
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import simpy


class NoResponse(Exception):
    """A request got no answer in time (lost, partitioned, or the other side is down or slow)."""


class Dropped(Exception):
    """Raised by a request's handler when the receiver sends no answer (it is down)."""


@dataclass(frozen=True)
class NetworkSettings:
    latency: float = 0.001
    """One-way delay in seconds."""
    jitter: float = 0.0005
    """Uniform extra delay in [0, jitter] seconds."""
    loss: float = 0.0
    """Probability that a message is lost."""


@dataclass
class Partition:
    left: tuple[str, ...]
    right: tuple[str, ...]

    def cuts(self, a: str, b: str) -> bool:
        return (_matches(a, self.left) and _matches(b, self.right)) or (
            _matches(a, self.right) and _matches(b, self.left)
        )


def _matches(name: str, group: Sequence[str]) -> bool:
    return any(name == g or (g.endswith("*") and name.startswith(g[:-1])) for g in group)


class Network:
    """Delivers messages after a delay, unless lost or cut by a partition."""

    def __init__(self, env: simpy.Environment, rng: random.Random, settings: NetworkSettings | None = None) -> None:
        self.env = env
        self.rng = rng
        self.settings = settings or NetworkSettings()
        self.partitions: list[Partition] = []
        self.extra_loss = 0.0
        """Loss added by the nemesis on top of the settings."""
        self.sent = 0
        self.dropped = 0

    def reachable(self, a: str, b: str) -> bool:
        return not any(p.cuts(a, b) for p in self.partitions)

    def delay(self) -> float:
        s = self.settings
        return s.latency + (self.rng.uniform(0, s.jitter) if s.jitter else 0.0)

    def delivered(self, a: str, b: str) -> bool:
        """Whether a message sent now from a to b arrives (draws the loss)."""
        self.sent += 1
        loss = self.settings.loss + self.extra_loss
        if not self.reachable(a, b) or (loss > 0 and self.rng.random() < loss):
            self.dropped += 1
            return False
        return True

    def send(self, a: str, b: str, deliver: Callable[[], Any]) -> None:
        """Call ``deliver()`` at b after the delay, unless the message is lost."""
        if not self.delivered(a, b):
            return
        self.env.process(self._later(self.delay(), deliver))

    def _later(self, delay: float, deliver: Callable[[], Any]) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(delay)
        deliver()

    def request(
        self,
        a: str,
        b: str,
        handle: Callable[[], Generator[simpy.Event, Any, Any]],
        timeout: float,
    ) -> simpy.Event:
        """Send a request from a to b, run ``handle()`` (a SimPy generator) at b, and carry its
        return value back. The returned event fires with the answer, or fails with NoResponse
        after ``timeout`` seconds if the request or the answer was lost or took too long.
        A failure raised by ``handle`` travels back to a as the answer."""
        answer = self.env.event()
        self.env.process(self._exchange(a, b, handle, answer))
        deadline = self.env.timeout(timeout)

        def expire(_: simpy.Event) -> None:
            if not answer.triggered:
                answer.fail(NoResponse(f"no answer from {a} -> {b} within {timeout:g} s"))
                answer.defused = True

        deadline.callbacks.append(expire)
        return answer

    def _exchange(
        self,
        a: str,
        b: str,
        handle: Callable[[], Generator[simpy.Event, Any, Any]],
        answer: simpy.Event,
    ) -> Generator[simpy.Event, Any, None]:
        if not self.delivered(a, b):
            return
        yield self.env.timeout(self.delay())
        failure: Exception | None = None
        value: Any = None
        try:
            value = yield self.env.process(handle())
        except Dropped:
            return
        except Exception as error:
            failure = error
        if not self.delivered(b, a):
            return
        yield self.env.timeout(self.delay())
        if answer.triggered:
            return
        if failure is not None:
            answer.fail(failure)
            answer.defused = True
        else:
            answer.succeed(value)
