"""Worker-to-worker calls in the simulated cluster: durable, exactly once, however long they take.

A caller's call is first entered in the wait-for graph kept by the storage service (the
cluster's one shared authority, like the lease table): a call that would close a cycle of
workers waiting on each other is refused there, before any target sees it. Otherwise a
delivery thread of the caller's shard sends it through the router with no deadline: the
same key through timeouts, lost answers, shard moves and partitions, until the target
answers. The caller meanwhile waits, parked without an instance once the wait is long. If the
caller's node dies, so does the delivery; the caller's new owner re-sends the call on recovery.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from ..core.call_graph import describe_cycle
from ..core.environment import WorkerCall
from ..core.errors import CallCycle, GolemError
from .baton import Halted, Owner
from .network import NoResponse
from .world import World


class WorkerCalls:
    """Sends worker-to-worker calls for every node of a cluster."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.in_flight = 0
        """Calls sent and not yet answered (a run has not settled while some are)."""

    def send(self, endpoint: str, owner: Owner, call: WorkerCall) -> Future[Any]:
        """Enter the call in the wait-for graph, then deliver it on a thread of ``owner``.

        Raises CallCycle when the call would close a cycle (the target never sees it)."""
        world = self.world
        storage = world.storage
        cycle = self._ask_storage(endpoint, lambda: storage.enter_call(call.caller, call.key, call.target))
        if cycle is not None:
            world.trace.record(world.env.now, "call-cycle", caller=str(call.caller), key=call.key)
            raise CallCycle(describe_cycle(cycle))
        answer: Future[Any] = Future()
        self.in_flight += 1
        world.baton.spawn(owner, f"call:{call.key}", lambda: self._deliver(endpoint, call, answer))
        return answer

    def _deliver(self, endpoint: str, call: WorkerCall, answer: Future[Any]) -> None:
        world = self.world
        try:
            try:
                result = world.router.invoke(
                    endpoint, call.target, call.function, call.args, call.key, until_answered=True
                )
            except Halted:
                return  # the caller's node died or lost the shard: its new owner sends the call again
            except GolemError as error:
                self._leave(endpoint, call)
                answer.set_exception(error)
                return
            self._leave(endpoint, call)
            answer.set_result(result)
        finally:
            self.in_flight -= 1

    def _leave(self, endpoint: str, call: WorkerCall) -> None:
        """Tell the storage the caller has its answer (one message: if lost, the oplogs tell)."""
        calls = self.world.storage.calls
        self.world.network.send(endpoint, "storage", lambda: calls.leave(call.caller, call.key))

    def _ask_storage(self, endpoint: str, handle: Any) -> Any:
        world = self.world
        while True:
            try:
                return world.baton.wait(
                    world.network.request(endpoint, "storage", handle, world.settings.storage_timeout)
                )
            except NoResponse:
                continue
