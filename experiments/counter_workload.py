"""The workload of experiments/counter-c-crash.yaml: increments by 1 spread over the counters.

Each operation has its own idempotency key, so a retried increment is counted once; the run's
final state of each counter is read with its `get` export."""

from __future__ import annotations

from random import Random

from golemsim.sim import Operation, Workload


class Increments(Workload):
    """POST /counters/c{k}/increment {"by": 1}, with k drawn by the experiment's key distribution."""

    state_function = {"counter": "get"}

    def next(self, rng: Random, n: int, now_ms: float) -> Operation:
        path = f"/counters/c{self.keys.pick(rng)}/increment"
        return Operation("increment", "POST", path, {"by": 1}, f"op-{n}")
