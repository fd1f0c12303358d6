"""Per-worker appends: index assignment, buffering and durable commit points."""

from __future__ import annotations

from .environment import Environment
from .ids import WorkerId
from .oplog.entries import OplogEntry
from .oplog.store import OplogStore


class OplogWriter:
    """Appends one worker's entries in order.

    Entries that only matter together with a later one (a clock read, the start of an
    invocation) are buffered; a durable entry commits everything buffered before it in
    the same commit. This keeps the durability rules while cutting fsyncs.
    """

    def __init__(self, worker: WorkerId, store: OplogStore, environment: Environment, length: int) -> None:
        self.worker = worker
        self.store = store
        self.environment = environment
        self._committed = length
        self._buffer: list[OplogEntry] = []
        self._lock = environment.new_lock()

    @property
    def last_index(self) -> int:
        """Index of the newest entry, committed or buffered."""
        return self._committed + len(self._buffer)

    def add(self, entry: OplogEntry, *, durable: bool) -> int:
        """Append an entry and return its index; with ``durable`` it is committed before returning."""
        with self._lock:
            self._buffer.append(entry)
            index = self._committed + len(self._buffer)
            if durable:
                self._flush_locked()
            return index

    def flush(self) -> None:
        """Commit every buffered entry."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._buffer:
            return
        entries, self._buffer = self._buffer, []
        try:
            self.environment.commit(self.store, self.worker, self._committed + 1, entries)
        except BaseException:
            self._buffer = entries + self._buffer
            raise
        self._committed += len(entries)

    def discard_buffer(self) -> None:
        """Forget uncommitted entries (what a crash would lose)."""
        with self._lock:
            self._buffer = []
