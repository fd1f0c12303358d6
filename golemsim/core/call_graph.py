"""Who waits on whom: the wait-for graph of worker-to-worker calls, and call cycles.

A worker runs one invocation at a time, so while its invocation waits on a call to another
worker it waits on at most one target: the graph has at most one edge out of each worker,
and a cycle is found by following edges. A call that would close a cycle (a -> b while
b -> a, or a -> b -> c -> a, or a worker calling itself) would wait forever: each call
queues behind the invocation that is waiting. Such a call is refused before it is delivered,
so its target never runs it; every call of the cycle already delivered goes on.

The graph is a cache of facts the oplogs hold (an open ``invoke-worker`` in a caller's
in-flight invocation). Where it can outlive them (a simulated node that crashed between an
answer and its ``leave``), ``enter`` is given a ``still_waiting`` check and drops the edges
of a suspected cycle that the oplogs no longer back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .ids import WorkerId

StillWaiting = Callable[[WorkerId, str], bool]
"""``still_waiting(caller, key)``: whether the caller's oplog still shows it waiting on call ``key``."""


@dataclass(frozen=True)
class WaitEdge:
    """A caller waiting on its call ``key`` to ``target``."""

    key: str
    target: WorkerId


def describe_cycle(path: list[WorkerId]) -> str:
    """``call cycle: a -> b -> a`` for the path a, b, a."""
    return "call cycle: " + " -> ".join(str(worker) for worker in path)


class CallGraph:
    """The wait-for edges of one cluster (or one executor). Not thread-safe: callers lock."""

    def __init__(self) -> None:
        self._edges: dict[WorkerId, WaitEdge] = {}

    def enter(
        self, caller: WorkerId, key: str, target: WorkerId, still_waiting: StillWaiting | None = None
    ) -> list[WorkerId] | None:
        """Record that ``caller`` waits on call ``key`` to ``target``, unless that closes a cycle.

        Returns None when recorded, or the cycle as a path from the caller back to itself
        (nothing recorded then). Entering the same call again (a re-sent call) records it
        without a check: it was checked when first entered.
        """
        current = self._edges.get(caller)
        if current is not None and current.key == key:
            return None
        while True:
            path = self._path_back(caller, target)
            if path is None:
                self._edges[caller] = WaitEdge(key, target)
                return None
            stale = [w for w in path[1:-1] if still_waiting is not None and not still_waiting(w, self._edges[w].key)]
            if not stale:
                return path
            for worker in stale:
                del self._edges[worker]

    def _path_back(self, caller: WorkerId, target: WorkerId) -> list[WorkerId] | None:
        """The path caller -> target -> ... -> caller along the edges, or None if there is none."""
        path = [caller, target]
        seen = {caller}
        worker = target
        while worker != caller:
            if worker in seen:
                return None  # a cycle not through the caller (it cannot form: each was refused)
            seen.add(worker)
            edge = self._edges.get(worker)
            if edge is None:
                return None
            worker = edge.target
            path.append(worker)
        return path

    def force(self, caller: WorkerId, key: str, target: WorkerId) -> None:
        """Record an edge without a check (a call its target had accepted before)."""
        self._edges[caller] = WaitEdge(key, target)

    def leave(self, caller: WorkerId, key: str) -> None:
        """The caller has its answer to call ``key``: it no longer waits."""
        current = self._edges.get(caller)
        if current is not None and current.key == key:
            del self._edges[caller]

    def waiting(self) -> dict[WorkerId, WaitEdge]:
        """A copy of the edges, by caller."""
        return dict(self._edges)
