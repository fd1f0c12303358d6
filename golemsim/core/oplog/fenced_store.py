"""A fenced view of the PostgreSQL oplog store: writes only while a shard's lease is at an epoch.

See ``PostgresOplogStore.fenced`` and the module docstring of postgres_store for how the check
(``SELECT epoch FROM shard_leases ... FOR SHARE`` in each write's transaction) keeps a writer whose
lease was taken over from ever writing again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ids import WorkerId
from .entries import OplogEntry
from .snapshot import Snapshot

if TYPE_CHECKING:
    from .postgres_store import PostgresOplogStore


@dataclass(frozen=True)
class Fence:
    """The lease a fenced view writes under: its shard and the epoch it holds."""

    shard: int
    epoch: int


class FencedOplogStore:
    """A fenced view of a PostgresOplogStore (see ``PostgresOplogStore.fenced``): writes check the
    lease in their own transaction; reads are the parent's; ``close`` leaves the parent open."""

    def __init__(self, parent: PostgresOplogStore, fence: Fence, shard_of: Callable[[WorkerId], int]) -> None:
        self.parent = parent
        self.fence = fence
        self.shard_of = shard_of

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        self.parent._append(worker, first_index, entries, self.fence)

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        self.parent._put_snapshot(worker, snapshot, self.fence)

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        return self.parent._compact(worker, through_index, archive, self.fence)

    def delete(self, worker: WorkerId) -> None:
        self.parent._delete(worker, self.fence)

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        return self.parent.read(worker, start, end)

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        return self.parent.read_archived(worker, start, end)

    def length(self, worker: WorkerId) -> int:
        return self.parent.length(worker)

    def first_index(self, worker: WorkerId) -> int:
        return self.parent.first_index(worker)

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        return self.parent.latest_snapshot(worker)

    def workers(self) -> list[tuple[WorkerId, int]]:
        return [(worker, n) for worker, n in self.parent.workers() if self.shard_of(worker) == self.fence.shard]

    def close(self) -> None:
        """Nothing: the parent store owns the connections."""
