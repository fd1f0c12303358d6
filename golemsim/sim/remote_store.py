"""A shard executor's oplog store: each call crosses the network to the storage service.

It implements the core's OplogStore, so the executor is unchanged. Writes carry the
shard's lease epoch; a Fenced answer means the node lost the shard, and the shard's
executor is stopped at once (its threads unwind; nothing more is written).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from typing import Any

import simpy

from ..core.ids import WorkerId
from ..core.oplog.entries import OplogEntry
from ..core.oplog.snapshot import Snapshot
from .baton import Halted
from .network import NoResponse
from .storage import Fenced
from .world import World


class RemoteOplogStore:
    """The storage service as seen from one shard on one node, with that shard's lease epoch."""

    def __init__(self, world: World, endpoint: str, shard: int, epoch: int, on_fenced: Callable[[str], None]) -> None:
        self.world = world
        self.storage = world.storage
        self.endpoint = endpoint
        self.shard = shard
        self.epoch = epoch
        self.on_fenced = on_fenced

    def _call(self, handle: Callable[[], Generator[simpy.Event, Any, Any]]) -> Any:
        """Send until answered: a lost request or answer is sent again (appends are idempotent)."""
        world = self.world
        while True:
            try:
                return world.baton.wait(
                    world.network.request(self.endpoint, "storage", handle, world.settings.storage_timeout)
                )
            except NoResponse:
                continue
            except Fenced as refused:
                self.on_fenced(str(refused))
                raise Halted(str(refused)) from None

    def _read(self, run: Callable[[], Any], size: Callable[[Any], int] = lambda _: 0) -> Any:
        return self._call(lambda: self.storage.read(run, size))

    def _write(self, what: str, run: Callable[[], Any]) -> Any:
        return self._call(lambda: self.storage.write(self.shard, self.epoch, what, run))

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        batch = list(entries)
        self._call(lambda: self.storage.append(self.shard, self.epoch, worker, first_index, batch))

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        entries: list[OplogEntry] = self._read(lambda: self.storage.store.read(worker, start, end), len)
        return entries

    def length(self, worker: WorkerId) -> int:
        return int(self._read(lambda: self.storage.store.length(worker)))

    def first_index(self, worker: WorkerId) -> int:
        return int(self._read(lambda: self.storage.store.first_index(worker)))

    def workers(self) -> list[tuple[WorkerId, int]]:
        """The workers of this shard only."""
        shard_of = self.world.shard_of
        listed: list[tuple[WorkerId, int]] = self._read(
            lambda: [(w, n) for w, n in self.storage.store.workers() if shard_of(w) == self.shard], len
        )
        return listed

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        self._write(f"snapshot of {worker}", lambda: self.storage.store.put_snapshot(worker, snapshot))

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        snapshot: Snapshot | None = self._read(lambda: self.storage.store.latest_snapshot(worker))
        return snapshot

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        return int(
            self._write(
                f"compaction of {worker}", lambda: self.storage.store.compact(worker, through_index, archive=archive)
            )
        )

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        entries: list[OplogEntry] = self._read(lambda: self.storage.store.read_archived(worker, start, end), len)
        return entries

    def delete(self, worker: WorkerId) -> None:
        self._write(f"deletion of {worker}", lambda: self.storage.store.delete(worker))

    def close(self) -> None:
        pass  # the storage service outlives every node
