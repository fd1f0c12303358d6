"""The oplog store interface: where oplogs are durable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..ids import WorkerId
from .entries import OplogEntry
from .snapshot import Snapshot


class OplogStore(Protocol):
    """Durable, append-only oplogs, one per worker, indexed from 1, with snapshots and compaction.

    ``append`` returns only once the entries are durable. It raises OplogConflict when
    ``first_index`` is not the next free index, so two writers can never interleave.
    ``read`` raises OplogCorruption at the first entry that fails its checksum and
    returns nothing beyond it.

    Snapshots and compaction. A worker has at most one stored snapshot, its newest: the state
    after entry ``snapshot.index``. ``compact(worker, n)`` moves entries 1..n out of the hot
    oplog (into the archive, or drops them); n may not pass the stored snapshot, so the hot
    oplog plus the snapshot always hold the whole state. Indexes never change:

    - ``length`` is the highest index ever appended (compacted ones included); the next
      append is still at ``length + 1``, and ``workers`` lists a worker whose entries are all
      compacted, with that length.
    - ``first_index`` is the index of the oldest hot entry: 1 before any compaction, n + 1
      after ``compact(worker, n)`` (``length + 1`` when every entry is compacted).
    - ``read(worker, start, end)`` returns the hot entries with ``start <= index <= end`` in
      order: the first returned entry has index ``max(start, first_index)``; a range that is
      wholly compacted reads as ``[]``. Compacted entries are never returned by ``read``.
    - ``read_archived(worker, start, end)`` returns the compacted entries with
      ``start <= index <= end``, in order, the first at index ``max(start, 1)``; it stops
      before ``first_index`` (hot entries are for ``read``). Checksums are verified as in
      ``read``. It raises OplogCompacted when an entry in the range was dropped (compacted
      without archive), naming the dropped indexes: a full replay is then impossible.
      ``read_archived(w) + read(w, first_index(w))`` is the whole history when nothing was
      dropped.
    """

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None: ...

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]: ...

    def length(self, worker: WorkerId) -> int: ...

    def first_index(self, worker: WorkerId) -> int:
        """The index of the oldest entry ``read`` can return (1 for a worker never compacted)."""
        ...

    def workers(self) -> list[tuple[WorkerId, int]]:
        """Every worker with an oplog, with its length, sorted by worker id."""
        ...

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        """Store ``snapshot`` durably as the worker's newest, replacing the one before.

        Raises OplogConflict when its index is past the oplog's length or before the stored
        snapshot's index (a snapshot at the same index replaces the stored one).
        """
        ...

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        """The worker's stored snapshot, or None. Raises SnapshotError when it fails its checksum."""
        ...

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        """Move entries ``first_index .. through_index`` out of the hot oplog, in one transaction.

        With ``archive`` they go to the archive (same bytes, same checksums) for
        ``read_archived``; without, they are deleted. Returns how many entries moved (0 when
        ``through_index`` is already compacted). Raises BadRequest when ``through_index`` is
        past the length or past the stored snapshot's index (or there is no snapshot): only
        entries a snapshot covers may leave the hot oplog.
        """
        ...

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]: ...

    def delete(self, worker: WorkerId) -> None:
        """Remove the worker's hot and archived entries and its snapshot (an operator control).

        Afterwards the worker has no oplog: length 0, not in ``workers``, next append at 1.
        The caller makes sure nothing is running on or appending to the worker meanwhile.
        """
        ...

    def close(self) -> None: ...
