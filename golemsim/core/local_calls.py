"""Worker-to-worker calls between the workers of one executor (the real executor's router)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from .call_graph import CallGraph, describe_cycle
from .environment import WorkerCall
from .errors import CallCycle
from .ids import WorkerId

Knows = Callable[[WorkerId, str], bool]
"""``knows(target, key)``: whether the target has accepted invocation ``key`` (pending, running or done)."""
Accept = Callable[[WorkerCall], "Future[Any]"]
"""Accept the call durably at its target; the future is its answer."""


class LocalCalls:
    """Refuses a call that would close a cycle of waiting workers; accepts the others at their
    target and keeps the wait-for graph until each is answered."""

    def __init__(self, knows: Knows, accept: Accept) -> None:
        self._knows = knows
        self._accept = accept
        self._graph = CallGraph()
        self._lock = threading.Lock()

    def send(self, call: WorkerCall) -> Future[Any]:
        """Accept ``call`` at its target and return the future of its answer.

        Raises CallCycle (its target never sees it) when it would close a cycle; a call the
        target had accepted before (re-sent after a restart) is never refused."""
        known = self._knows(call.target, call.key)
        with self._lock:
            if known:
                self._graph.force(call.caller, call.key, call.target)
            else:
                cycle = self._graph.enter(call.caller, call.key, call.target)
                if cycle is not None:
                    raise CallCycle(describe_cycle(cycle))
        try:
            answer = self._accept(call)
        except BaseException:
            self._leave(call)
            raise
        answer.add_done_callback(lambda _: self._leave(call))
        return answer

    def enter_accepted(self, waits: Iterable[tuple[WorkerId, str, WorkerId]]) -> None:
        """Enter (caller, key, target) waits that survived a restart, before any worker runs,
        so that a new call is checked against each of them."""
        with self._lock:
            for caller, key, target in waits:
                self._graph.force(caller, key, target)

    def _leave(self, call: WorkerCall) -> None:
        with self._lock:
            self._graph.leave(call.caller, call.key)
