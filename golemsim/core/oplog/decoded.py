"""Entries a store has decoded before, so that reading the same bytes again does not decode them again."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

from .entries import OplogEntry, decode_entry

DEFAULT_LIMIT = 32_768
"""Entries kept by default: up to about 65 MB when entries are as large as the checkout's
(2 KB kept per entry, bytes and decoded entry together; most are smaller)."""


class DecodedEntries:
    """Decoded entries by worker and index, each with the bytes and checksum it was decoded from.

    A read that finds the same bytes and the same checksum at the same place again gets the
    entry decoded then: decoding and verifying those bytes again could only give the same
    entry, or the same error (a failed decode is never kept). A changed byte or checksum is
    decoded and verified afresh, so corruption on disk after a first read is still detected.
    Entries are frozen dataclasses and nothing that reads an oplog changes the values inside
    them, so one decoded entry is shared by every read that returns it.

    Bounded: it keeps at most ``limit`` entries, dropping the workers read least recently (a
    worker whose oplog alone is longer than that is not kept).
    """

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self._workers: OrderedDict[str, dict[int, tuple[bytes, int, OplogEntry]]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def decode(self, worker: str, rows: Iterable[tuple[int, bytes, int]]) -> list[OplogEntry]:
        """The entries of ``worker`` stored as these ``(index, payload, checksum)`` rows, in order.
        Raises OplogCorruption at the first row that fails its checksum or does not decode."""
        with self._lock:
            known = self._workers.get(worker)
            if known is None:
                known = self._workers[worker] = {}
            else:
                self._workers.move_to_end(worker)
            entries: list[OplogEntry] = []
            try:
                for index, payload, checksum in rows:
                    seen = known.get(index)
                    if seen is not None and seen[1] == checksum and seen[0] == payload:
                        entries.append(seen[2])
                        continue
                    entry = decode_entry(worker, index, payload, checksum)
                    if seen is None:
                        self._size += 1
                    known[index] = (payload, checksum, entry)
                    entries.append(entry)
            finally:
                self._trim()
            return entries

    def forget(self, worker: str) -> None:
        """Drop what is kept for ``worker`` (its oplog was deleted)."""
        with self._lock:
            self._size -= len(self._workers.pop(worker, {}))

    def __len__(self) -> int:
        return self._size

    def _trim(self) -> None:
        while self._size > self.limit and self._workers:
            _worker, dropped = self._workers.popitem(last=False)
            self._size -= len(dropped)
