"""An oplog store in memory: fast, and gone when the process ends.

Entries are kept encoded and checksummed, exactly as the SQLite store keeps them, and each is
decoded (its checksum verified) on its first read only: later reads return the same entry
object. Entries are frozen dataclasses and nothing that reads an oplog changes the values in
them, so sharing one decoded entry between readers is safe; the bytes a checksum was verified
against cannot change in memory, so verifying them again could only give the same answer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import OplogConflict
from ..ids import WorkerId
from .entries import OplogEntry, decode_entry, encode_entry, entry_checksum
from .snapshot import (
    Snapshot,
    check_compaction,
    check_snapshot_index,
    dropped_error,
    snapshot_checksum,
    verified_snapshot,
)


class _Row:
    """One stored entry: its encoded bytes and checksum, and the entry decoded from them once read."""

    __slots__ = ("checksum", "entry", "payload")

    def __init__(self, payload: bytes, checksum: int) -> None:
        self.payload = payload
        self.checksum = checksum
        self.entry: OplogEntry | None = None

    def decoded(self, worker: str, index: int) -> OplogEntry:
        """The entry, decoded and verified on the first call (OplogCorruption if it fails, every time)."""
        entry = self.entry
        if entry is None:
            entry = self.entry = decode_entry(worker, index, self.payload, self.checksum)
        return entry


@dataclass
class _Log:
    hot: list[_Row] = field(default_factory=list)
    """Encoded entries ``compacted + 1 ..`` with their checksums."""
    compacted: int = 0
    archive: dict[int, _Row] = field(default_factory=dict)
    """Archived entries by index; a compacted index missing here was dropped."""
    snapshot: tuple[Snapshot, int] | None = None

    @property
    def length(self) -> int:
        return self.compacted + len(self.hot)


class MemoryOplogStore:
    """Keeps encoded, checksummed entries in memory, exactly as the SQLite store would, each
    decoded once (on its first read) and shared by every read after it."""

    def __init__(self) -> None:
        self._logs: dict[WorkerId, _Log] = {}
        self._lock = threading.Lock()

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        key = str(worker)
        with self._lock:
            log = self._logs.get(worker) or _Log()
            if first_index != log.length + 1:
                raise OplogConflict(f"append to {worker} at {first_index}, but its oplog has {log.length} entries")
            self._logs[worker] = log
            for offset, entry in enumerate(entries):
                payload = encode_entry(entry)
                log.hot.append(_Row(payload, entry_checksum(key, first_index + offset, payload)))

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        with self._lock:
            log = self._logs.get(worker) or _Log()
            first = max(start, log.compacted + 1)
            last = log.length if end is None else min(end, log.length)
            rows = log.hot[first - log.compacted - 1 : max(0, last - log.compacted)]
        key = str(worker)
        return [row.decoded(key, index) for index, row in enumerate(rows, first)]

    def length(self, worker: WorkerId) -> int:
        with self._lock:
            log = self._logs.get(worker)
            return log.length if log is not None else 0

    def first_index(self, worker: WorkerId) -> int:
        with self._lock:
            log = self._logs.get(worker)
            return log.compacted + 1 if log is not None else 1

    def workers(self) -> list[tuple[WorkerId, int]]:
        with self._lock:
            return sorted((worker, log.length) for worker, log in self._logs.items() if log.length)

    # -- snapshots and compaction --------------------------------------------------------

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        with self._lock:
            log = self._logs.get(worker) or _Log()
            check_snapshot_index(worker, snapshot, log.length, log.snapshot[0].index if log.snapshot else None)
            log.snapshot = (snapshot, snapshot_checksum(str(worker), snapshot))

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        with self._lock:
            log = self._logs.get(worker)
            stored = log.snapshot if log is not None else None
        return verified_snapshot(str(worker), *stored) if stored is not None else None

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        with self._lock:
            log = self._logs.get(worker) or _Log()
            check_compaction(worker, through_index, log.length, log.snapshot[0].index if log.snapshot else None)
            moved = max(0, through_index - log.compacted)
            if archive:
                for offset, row in enumerate(log.hot[:moved]):
                    log.archive[log.compacted + 1 + offset] = row
            del log.hot[:moved]
            log.compacted += moved
            return moved

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        with self._lock:
            log = self._logs.get(worker) or _Log()
            last = log.compacted if end is None else min(end, log.compacted)
            wanted = range(max(start, 1), last + 1)
            rows = [(index, log.archive.get(index)) for index in wanted]
        key = str(worker)
        entries = []
        for index, row in rows:
            if row is None:
                dropped = next((i for i, r in rows if i > index and r is not None), last + 1) - 1
                raise dropped_error(worker, index, dropped)
            entries.append(row.decoded(key, index))
        return entries

    def delete(self, worker: WorkerId) -> None:
        with self._lock:
            self._logs.pop(worker, None)

    def close(self) -> None:
        """Nothing to release."""
