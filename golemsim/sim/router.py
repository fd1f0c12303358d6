"""Routing calls to the node that owns a worker's shard, retrying with the same key.

Used by the simulated API gateway and for worker-to-worker calls. On a timeout, or when
the node says it does not own the shard (it moved, or the node is draining), the router
waits a little, asks the shard manager again and sends the same call again: the same
idempotency key makes the retry join or return the first run, never start a second one.
"""

from __future__ import annotations

import functools
from typing import Any

from ..core.errors import GolemError
from ..core.executor import Executor
from ..core.ids import WorkerId
from ..core.promises import promise_owner
from .network import NoResponse
from .node import NotOwner
from .world import Call, World


class Unreachable(GolemError):
    """No node answered for the worker within the call deadline."""


class Router:
    def __init__(self, world: World) -> None:
        self.world = world

    def call(self, source: str, worker: WorkerId, call: Call, *, until_answered: bool = False) -> Any:
        """Run ``call`` on the executor that owns ``worker`` (on a simulated thread).

        Keeps trying for the settings' call_deadline, then raises Unreachable; with
        ``until_answered``, for as long as it takes."""
        world = self.world
        settings = world.settings
        env = world.env
        deadline = None if until_answered else env.now + settings.call_deadline
        shard = world.shard_of(worker)
        attempt = 0
        while True:
            owner = world.shard_manager.owner(shard)
            if owner is not None:
                node = world.nodes[owner[0]]
                epoch = owner[1]
                try:
                    return world.baton.wait(
                        world.network.request(
                            source,
                            node.name,
                            functools.partial(node.handle, shard, epoch, call),
                            settings.request_timeout,
                        )
                    )
                except (NoResponse, NotOwner) as error:
                    reason = type(error).__name__
            else:
                reason = "NoOwner"
            attempt += 1
            world.metrics.count("retries")
            world.trace.record(env.now, "retry", source=source, worker=str(worker), attempt=attempt, reason=reason)
            if deadline is not None and env.now >= deadline:
                raise Unreachable(f"no node answered for {worker} within {settings.call_deadline:g} s")
            world.baton.sleep(min(settings.retry_backoff * attempt, 1.0))

    def invoke(
        self, source: str, worker: WorkerId, function: str, args: list[Any], key: str, *, until_answered: bool = False
    ) -> Any:
        def run(executor: Executor) -> Any:
            return executor.invoke(worker.template, worker.name, function, args, idempotency_key=key)

        return self.call(source, worker, Call(f"invoke:{function}", run), until_answered=until_answered)

    def schedule(self, source: str, worker: WorkerId, function: str, args: list[Any], due_ms: int, key: str) -> None:
        """Schedule from a worker: durable and exactly once, so re-sent until the target accepts it."""

        def run(executor: Executor) -> Any:
            return executor.schedule(worker.template, worker.name, function, args, at_ms=due_ms, idempotency_key=key)

        self.call(source, worker, Call(f"schedule:{function}", run), until_answered=True)

    def complete_promise(self, source: str, promise_id: str, value: Any) -> bool:
        worker = promise_owner(promise_id)
        return bool(
            self.call(source, worker, Call("complete-promise", lambda ex: ex.complete_promise(promise_id, value)))
        )

    def update(self, source: str, worker: WorkerId, version: int, mode: str) -> Any:
        return self.call(source, worker, Call("update", lambda ex: ex.update_worker(worker, version, mode=mode)))
