"""The SQLite oplog store: WAL, fsync on commit, group commit across workers.

Group commit without a committer thread: the first appender that finds no commit running
becomes the leader, takes every batch waiting (its own included) and commits them in one
transaction, so one fsync makes many workers' entries durable together. Appenders that
arrive meanwhile wait on their own batch; when a round ends, the leader wakes each of them
once, and hands the lead to the oldest batch still waiting. An uncontended append commits
on its own thread, with no hand-off. Each append returns only after the commit that holds
its entries.

Snapshots, compaction and deletion are rare: they run in short transactions of their own
on a separate connection, and SQLite's write lock orders them with the group commits.
Entries compacted away leave a watermark (``oplog_compacted``), so a worker's length and
next index survive even when none of its entries is hot any more.

Reads decode an entry once: the rows read are matched against the entries decoded before
(same worker, index, bytes and checksum; see DecodedEntries, bounded), so a worker's oplog read
again, e.g. by recovery and then by the checkers, is decoded and verified again only where its
bytes changed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadRequest, GolemError, OplogConflict
from ..ids import WorkerId
from ..sqlite_wal import use_wal
from .decoded import DecodedEntries
from .entries import OplogEntry, encode_entry, entry_checksum
from .snapshot import (
    Snapshot,
    archived_entries,
    check_compaction,
    check_snapshot_index,
    snapshot_checksum,
    verified_snapshot,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS oplog (
    worker   TEXT    NOT NULL,
    idx      INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    checksum INTEGER NOT NULL,
    PRIMARY KEY (worker, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS oplog_archive (
    worker   TEXT    NOT NULL,
    idx      INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    payload  BLOB    NOT NULL,
    checksum INTEGER NOT NULL,
    PRIMARY KEY (worker, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS oplog_compacted (
    worker      TEXT    NOT NULL PRIMARY KEY,
    through_idx INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    worker           TEXT    NOT NULL PRIMARY KEY,
    idx              INTEGER NOT NULL,
    template_version INTEGER NOT NULL,
    component_hash   TEXT    NOT NULL,
    data             BLOB    NOT NULL,
    at_ms            INTEGER NOT NULL,
    checksum         INTEGER NOT NULL
);
"""

# A worker's length is its highest hot index, or the compaction watermark when all are compacted.
LENGTH_QUERY = (
    "SELECT max(n) FROM (SELECT max(idx) AS n FROM oplog WHERE worker = ?1"
    " UNION ALL SELECT through_idx FROM oplog_compacted WHERE worker = ?1)"
)


def connect(path: str | Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open a connection in WAL mode with the given fsync policy."""
    conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
    use_wal(conn)
    conn.execute(f"PRAGMA synchronous={synchronous}")
    return conn


OPLOG_TABLES = ("oplog", "oplog_archive", "oplog_compacted", "snapshots")


def connect_read_only(path: str | Path) -> sqlite3.Connection:
    """Open an existing database for reading only: nothing is created, written or migrated.

    BadRequest naming the path when there is no file there. With no ``-wal`` file next to it
    no writer has the database open, and it is opened ``immutable`` (no ``-wal``/``-shm`` is
    made, the file is untouched); with one, a writer may be running and it is opened
    ``mode=ro`` beside it (using the writer's ``-wal``/``-shm``).
    """
    db = Path(path)
    if not db.is_file():
        raise BadRequest(f"no database at {db}: this command only reads one (check --db)")
    writer_open = Path(f"{db}-wal").exists()
    uri = db.resolve().as_uri() + ("?mode=ro" if writer_open else "?mode=ro&immutable=1")
    return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None, check_same_thread=False)


def table_names(conn: sqlite3.Connection, path: str | Path) -> set[str]:
    """The database's tables; BadRequest naming ``path`` when the file is not a SQLite database."""
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise BadRequest(f"{path} is not a golemsim database ({error})") from None


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
    """Oplogs in one SQLite file. ``fsync=False`` trades durability for speed (tests, demos).

    ``read_only`` opens an existing golemsim database for reading (see connect_read_only), and
    BadRequest naming the path when it is missing or holds no oplogs; appends then fail.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fsync: bool = True,
        decoded: DecodedEntries | None = None,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._decoded = decoded or DecodedEntries()
        self._synchronous = "FULL" if fsync else "OFF"
        if read_only:
            self._writer = connect_read_only(self.path)
            missing = set(OPLOG_TABLES) - table_names(self._writer, self.path)
            if "oplog" in missing:
                self._writer.close()
                raise BadRequest(f"{self.path} is not a golemsim database (it has no oplog table)")
            for statement in SCHEMA.split(";"):  # tables of later versions, empty, in the connection's own temp schema
                if any(f"EXISTS {table} (" in statement for table in missing):
                    self._writer.execute(statement.replace("CREATE TABLE", "CREATE TEMP TABLE"))
        else:
            self._writer = connect(self.path, synchronous=self._synchronous)
            self._writer.executescript(SCHEMA)
        self._local = threading.local()
        self._lengths: dict[WorkerId, int] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._waiting: list[_Batch] = []
        self._committing = False
        self._closed = False
        self._maintenance: sqlite3.Connection | None = None
        self._maintenance_lock = threading.Lock()

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
            if self._closed or self.read_only:
                raise GolemError(f"oplog store {self.path} is {'closed' if self._closed else 'open read-only'}")
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
            row = self._writer.execute(LENGTH_QUERY, (str(worker),)).fetchone()
            length = row[0] or 0
        return length

    # -- reading -------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        if self.read_only:  # its one connection, closed with the store
            return self._writer
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
        return self._decoded.decode(key, rows)

    def length(self, worker: WorkerId) -> int:
        row = self._reader().execute(LENGTH_QUERY, (str(worker),)).fetchone()
        return int(row[0] or 0)

    def first_index(self, worker: WorkerId) -> int:
        return _compacted(self._reader(), str(worker)) + 1

    def workers(self) -> list[tuple[WorkerId, int]]:
        rows = (
            self._reader()
            .execute(
                "SELECT worker, max(n) FROM (SELECT worker, max(idx) AS n FROM oplog GROUP BY worker"
                " UNION ALL SELECT worker, through_idx FROM oplog_compacted) GROUP BY worker ORDER BY worker"
            )
            .fetchall()
        )
        return [(WorkerId.parse(name), int(length)) for name, length in rows]

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        key = str(worker)
        row = (
            self._reader()
            .execute(
                "SELECT idx, template_version, component_hash, data, at_ms, checksum FROM snapshots WHERE worker = ?",
                (key,),
            )
            .fetchone()
        )
        if row is None:
            return None
        index, version, digest, data, at_ms, checksum = row
        return verified_snapshot(
            key, Snapshot(int(index), int(version), str(digest), bytes(data), int(at_ms)), checksum
        )

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        key = str(worker)
        conn = self._reader()
        conn.execute("BEGIN")  # the watermark and the rows from one snapshot of the database
        try:
            compacted = _compacted(conn, key)
            last = compacted if end is None else min(end, compacted)
            rows = conn.execute(
                "SELECT idx, payload, checksum FROM oplog_archive WHERE worker = ? AND idx >= ? AND idx <= ?"
                " ORDER BY idx",
                (key, start, last),
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return archived_entries(self._decoded, worker, rows, start, last)

    # -- snapshots, compaction, deletion ----------------------------------------------------

    def _maintain(self) -> sqlite3.Connection:
        """The connection for snapshot and compaction transactions (call with _maintenance_lock held)."""
        if self._closed:
            raise GolemError(f"oplog store {self.path} is closed")
        if self.read_only:
            raise GolemError(f"oplog store {self.path} is open read-only")
        if self._maintenance is None:
            self._maintenance = connect(self.path, synchronous=self._synchronous)
        return self._maintenance

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        key = str(worker)
        with self._maintenance_lock:
            conn = self._maintain()
            conn.execute("BEGIN IMMEDIATE")
            try:
                length = int(conn.execute(LENGTH_QUERY, (key,)).fetchone()[0] or 0)
                check_snapshot_index(worker, snapshot, length, _snapshot_index(conn, key))
                conn.execute(
                    "INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        snapshot.index,
                        snapshot.template_version,
                        snapshot.component_hash,
                        snapshot.data,
                        snapshot.at_ms,
                        snapshot_checksum(key, snapshot),
                    ),
                )
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        key = str(worker)
        with self._maintenance_lock:
            conn = self._maintain()
            conn.execute("BEGIN IMMEDIATE")
            try:
                length = int(conn.execute(LENGTH_QUERY, (key,)).fetchone()[0] or 0)
                check_compaction(worker, through_index, length, _snapshot_index(conn, key))
                if through_index <= _compacted(conn, key):
                    conn.execute("ROLLBACK")
                    return 0
                if archive:
                    conn.execute(
                        "INSERT INTO oplog_archive SELECT worker, idx, kind, payload, checksum FROM oplog"
                        " WHERE worker = ? AND idx <= ?",
                        (key, through_index),
                    )
                moved = conn.execute("DELETE FROM oplog WHERE worker = ? AND idx <= ?", (key, through_index)).rowcount
                conn.execute("INSERT OR REPLACE INTO oplog_compacted VALUES (?, ?)", (key, through_index))
                conn.execute("COMMIT")
                return int(moved)
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def delete(self, worker: WorkerId) -> None:
        key = str(worker)
        with self._maintenance_lock:
            conn = self._maintain()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("oplog", "oplog_archive", "oplog_compacted", "snapshots"):
                    conn.execute(f"DELETE FROM {table} WHERE worker = ?", (key,))
                conn.execute("COMMIT")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            self._decoded.forget(key)
            with self._lock:
                self._lengths.pop(worker, None)  # the next append starts again at 1

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._committing:
                self._idle.wait()
        self._writer.close()
        with self._maintenance_lock:
            if self._maintenance is not None:
                self._maintenance.close()


def _compacted(conn: sqlite3.Connection, worker: str) -> int:
    row = conn.execute("SELECT through_idx FROM oplog_compacted WHERE worker = ?", (worker,)).fetchone()
    return int(row[0]) if row is not None else 0


def _snapshot_index(conn: sqlite3.Connection, worker: str) -> int | None:
    row = conn.execute("SELECT idx FROM snapshots WHERE worker = ?", (worker,)).fetchone()
    return int(row[0]) if row is not None else None
