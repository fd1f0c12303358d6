"""An oplog store in memory: fast, and gone when the process ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..errors import OplogConflict
from ..ids import WorkerId
from .entries import OplogEntry, decode_entry, encode_entry, entry_checksum


class MemoryOplogStore:
    """Keeps encoded, checksummed entries in memory, exactly as the SQLite store would."""

    def __init__(self) -> None:
        self._logs: dict[WorkerId, list[tuple[bytes, int]]] = {}
        self._lock = threading.Lock()

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        key = str(worker)
        with self._lock:
            log = self._logs.setdefault(worker, [])
            if first_index != len(log) + 1:
                raise OplogConflict(f"append to {worker} at {first_index}, but its oplog has {len(log)} entries")
            for offset, entry in enumerate(entries):
                payload = encode_entry(entry)
                log.append((payload, entry_checksum(key, first_index + offset, payload)))

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        with self._lock:
            rows = list(self._logs.get(worker, []))
        last = len(rows) if end is None else min(end, len(rows))
        return [decode_entry(str(worker), i, *rows[i - 1]) for i in range(max(start, 1), last + 1)]

    def length(self, worker: WorkerId) -> int:
        with self._lock:
            return len(self._logs.get(worker, []))

    def workers(self) -> list[tuple[WorkerId, int]]:
        with self._lock:
            return sorted((worker, len(log)) for worker, log in self._logs.items())

    def close(self) -> None:
        """Nothing to release."""
