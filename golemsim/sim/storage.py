"""The oplog storage service: a real OplogStore behind simulated latency, batching and fencing.

Nodes reach it over the network. Appends are batched (those arriving within one batch
window share one commit) and acknowledged only once committed; an append from a node whose
lease epoch for the shard is stale is refused (fencing), so an old owner cut off by a
partition cannot write. The nemesis can make it slow or unavailable; requests then wait.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import simpy

from ..core.call_graph import CallGraph
from ..core.errors import Fenced as Fenced  # the core's error: the real PostgreSQL store fences the same way
from ..core.errors import GolemError
from ..core.history import History, analyze
from ..core.ids import WorkerId
from ..core.oplog.entries import OplogEntry
from ..core.oplog.store import OplogStore


@dataclass(frozen=True)
class StorageSettings:
    write_latency: float = 0.002
    """Seconds for one batch commit."""
    read_latency: float = 0.001
    """Seconds for a read request, plus ``per_entry`` for each entry returned."""
    per_entry: float = 0.00002
    batch_window: float = 0.0005
    """Appends arriving within this many seconds share one commit."""


@dataclass
class _Append:
    shard: int
    epoch: int
    worker: WorkerId
    first_index: int
    entries: Sequence[OplogEntry]
    done: simpy.Event


class OplogStorage:
    """The storage service of a simulated cluster."""

    def __init__(self, env: simpy.Environment, store: OplogStore, settings: StorageSettings | None = None) -> None:
        self.env = env
        self.store = store
        self.settings = settings or StorageSettings()
        self.leases: dict[int, int] = {}
        """The current lease epoch of each shard: the fence."""
        self.slowdown = 1.0
        """Latency multiplier set by the nemesis."""
        self._available = env.event()
        self._available.succeed()
        self._batch: list[_Append] = []
        self._acked: dict[WorkerId, tuple[int, int]] = {}
        self.on_append: Callable[[WorkerId, int, Sequence[OplogEntry]], None] | None = None
        """Told of each append once it is committed: (worker, index of its first entry, entries)."""
        self.commits = 0
        self.appended = 0
        self.fenced = 0
        self.calls = CallGraph()
        """Who waits on whom through worker-to-worker calls, cluster-wide (checked against the oplogs)."""

    # --- the nemesis' knobs ---
    def set_available(self, available: bool) -> None:
        if available and not self._available.triggered:
            self._available.succeed()
        elif not available and self._available.triggered:
            self._available = self.env.event()

    @property
    def available(self) -> bool:
        return bool(self._available.triggered)

    @property
    def pending_appends(self) -> int:
        """Appends waiting for their batch to commit."""
        return len(self._batch)

    # --- requests (SimPy generators, run at the storage) ---
    def append(
        self, shard: int, epoch: int, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]
    ) -> Generator[simpy.Event, Any, None]:
        done = self.env.event()
        self._batch.append(_Append(shard, epoch, worker, first_index, entries, done))
        if len(self._batch) == 1:
            self.env.process(self._commit_batch())
        yield done

    def _commit_batch(self) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.settings.batch_window)
        batch, self._batch = self._batch, []
        yield self._available
        yield self.env.timeout(self.settings.write_latency * self.slowdown)
        yield self._available
        self.commits += 1
        for item in batch:
            try:
                self._apply(item)
            except GolemError as error:
                item.done.fail(error)
                item.done.defused = True
            else:
                item.done.succeed()

    def _apply(self, item: _Append) -> None:
        self._check_lease(item.shard, item.epoch, f"append to {item.worker}")
        count = len(item.entries)
        if self._acked.get(item.worker) == (item.first_index, count):
            return  # a re-sent append whose answer was lost
        self.store.append(item.worker, item.first_index, item.entries)
        self._acked[item.worker] = (item.first_index, count)
        self.appended += count
        if self.on_append is not None:
            self.on_append(item.worker, item.first_index, item.entries)

    def _check_lease(self, shard: int, epoch: int, what: str) -> None:
        current = self.leases.get(shard)
        if current != epoch:
            self.fenced += 1
            raise Fenced(f"{what} refused: lease epoch {epoch} of shard {shard} is stale (current {current})")

    def read(self, run: Callable[[], Any], size: Callable[[Any], int]) -> Generator[simpy.Event, Any, Any]:
        """A read: ``run()`` against the store after the read latency and a cost per entry."""
        yield self._available
        result = run()
        s = self.settings
        yield self.env.timeout((s.read_latency + s.per_entry * size(result)) * self.slowdown)
        return result

    def write(self, shard: int, epoch: int, what: str, run: Callable[[], Any]) -> Generator[simpy.Event, Any, Any]:
        """A fenced write other than an append (snapshot, compaction, delete)."""
        yield self._available
        yield self.env.timeout(self.settings.write_latency * self.slowdown)
        self._check_lease(shard, epoch, what)
        return run()

    def enter_call(self, caller: WorkerId, key: str, target: WorkerId) -> Generator[simpy.Event, Any, Any]:
        """Record that ``caller`` waits on call ``key`` to ``target``; the cycle it would close, or None."""
        yield self._available
        yield self.env.timeout(self.settings.read_latency * self.slowdown)
        cycle = self.calls.enter(caller, key, target, self._still_waiting)
        if cycle is not None and self._accepted(target, key):
            # A call re-sent after its caller's crash, which its target had already accepted:
            # refusing it now would say "never runs" of a call that runs. It is answered (the
            # target has its result, or the call is older than the rest of the cycle).
            self.calls.force(caller, key, target)
            return None
        return cycle

    def _history(self, worker: WorkerId) -> History | None:
        if not self.store.length(worker):
            return None
        first = self.store.first_index(worker)
        return analyze(list(enumerate(self.store.read(worker, first), first)))

    def _still_waiting(self, worker: WorkerId, key: str) -> bool:
        """Whether ``worker``'s committed oplog shows its invocation still waiting on call ``key``."""
        history = self._history(worker)
        in_flight = history.in_flight if history is not None else None
        waiting = in_flight.waiting_on if in_flight is not None else None
        return waiting is not None and waiting.function == "invoke-worker" and waiting.request.get("key") == key

    def _accepted(self, worker: WorkerId, key: str) -> bool:
        """Whether ``worker``'s committed oplog holds invocation ``key`` (pending, running or done)."""
        history = self._history(worker)
        if history is None:
            return False
        in_flight = history.in_flight
        return (
            key in history.results()
            or (in_flight is not None and in_flight.idempotency_key == key)
            or any(pending.idempotency_key == key for pending in history.pending)
        )
