"""The SQLite oplog store: WAL, fsync on commit, group commit across workers.

Group commit without a committer thread: the first appender that finds no commit running
becomes the leader, takes every batch waiting (its own included) and commits them in one
transaction, so one fsync makes many workers' entries durable together. Appenders that
arrive meanwhile wait on their own batch; when a round ends, the leader wakes each of them
once, and hands the lead to the oldest batch still waiting. An uncontended append commits
on its own thread, with no hand-off. Each append returns only after the commit that holds
its entries.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import GolemError, OplogConflict
from ..ids import WorkerId
from .entries import OplogEntry, decode_entry, encode_entry, entry_checksum

SCHEMA = """
CREATE TABLE IF NOT EXISTS oplog (
    worker   TEXT    NOT NULL,
    idx      INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    checksum INTEGER NOT NULL,
    PRIMARY KEY (worker, idx)
) WITHOUT ROWID;
"""


def connect(path: str | Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a connection in WAL mode with the given fsync policy."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


@dataclass
class _Batch:
    worker: WorkerId
    first_index: int
    rows: list[tuple[str, int, str, bytes, int]]
    done: bool = False
    error: Exception | None = None
    wake: threading.Event | None = None
    """Made only for a batch that waits for another thread's commit."""


class SQLiteOplogStore:
    """Oplogs in one SQLite file. ``fsync=False`` trades durability for speed (tests, demos)."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._synchronous = "FULL" if fsync else "OFF"
        self._writer = connect(self.path, synchronous=self._synchronous)
        self._writer.executescript(SCHEMA)
        self._local = threading.local()
        self._lengths: dict[WorkerId, int] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._waiting: list[_Batch] = []
        self._committing = False
        self._closed = False

    # -- writing -------------------------------------------------------------------------

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        key = str(worker)
        rows = []
        for offset, entry in enumerate(entries):
            payload = encode_entry(entry)
            index = first_index + offset
            rows.append((key, index, entry.kind, payload, entry_checksum(key, index, payload)))
        batch = _Batch(worker, first_index, rows)
        with self._lock:
            if self._closed:
                raise GolemError(f"oplog store {self.path} is closed")
            self._waiting.append(batch)
            lead = not self._committing
            self._committing = True
            if not lead:
                batch.wake = threading.Event()
        if batch.wake is not None:
            batch.wake.wait()  # committed by a leader, or asked to lead the next round
        if not batch.done:
            self._lead()
        if batch.error is not None:
            raise batch.error

    def _lead(self) -> None:
        with self._lock:
            batches, self._waiting = self._waiting, []
        self._commit(batches)
        for done in batches:
            if done.wake is not None:
                done.wake.set()
        with self._lock:
            if self._waiting:
                follower = self._waiting[0].wake
                assert follower is not None  # every batch that arrived during a round waits
                follower.set()  # its owner leads the next round
            else:
                self._committing = False
                self._idle.notify_all()

    def _commit(self, batches: list[_Batch]) -> None:
        conn = self._writer
        staged: dict[WorkerId, int] = {}
        try:
            conn.execute("BEGIN IMMEDIATE")
            for batch in batches:
                current = staged.get(batch.worker)
                if current is None:
                    current = self._known_length(batch.worker)
                if batch.first_index != current + 1:
                    batch.error = OplogConflict(
                        f"append to {batch.worker} at {batch.first_index}, but its oplog has {current} entries"
                    )
                    continue
                conn.executemany("INSERT INTO oplog VALUES (?, ?, ?, ?, ?)", batch.rows)
                staged[batch.worker] = current + len(batch.rows)
            conn.execute("COMMIT")
            self._lengths.update(staged)
        except sqlite3.Error as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for batch in batches:
                if batch.error is None:
                    batch.error = GolemError(f"oplog commit to {self.path} failed: {error}")
        finally:
            for batch in batches:
                batch.done = True

    def _known_length(self, worker: WorkerId) -> int:
        length = self._lengths.get(worker)
        if length is None:
            row = self._writer.execute("SELECT max(idx) FROM oplog WHERE worker = ?", (str(worker),)).fetchone()
            length = row[0] or 0
        return length

    # -- reading -------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, synchronous=self._synchronous)
            self._local.conn = conn
        return conn

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        key = str(worker)
        rows = (
            self._reader()
            .execute(
                "SELECT idx, payload, checksum FROM oplog WHERE worker = ? AND idx >= ? AND idx <= ? ORDER BY idx",
                (key, start, end if end is not None else 2**62),
            )
            .fetchall()
        )
        return [decode_entry(key, index, bytes(payload), checksum) for index, payload, checksum in rows]

    def length(self, worker: WorkerId) -> int:
        row = self._reader().execute("SELECT max(idx) FROM oplog WHERE worker = ?", (str(worker),)).fetchone()
        return int(row[0] or 0)

    def workers(self) -> list[tuple[WorkerId, int]]:
        rows = self._reader().execute("SELECT worker, max(idx) FROM oplog GROUP BY worker ORDER BY worker").fetchall()
        return [(WorkerId.parse(name), int(length)) for name, length in rows]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._committing:
                self._idle.wait()
        self._writer.close()
