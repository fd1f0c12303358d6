"""The PostgreSQL oplog store: one database shared by several executor processes, with fencing.

Same tables in spirit and same semantics as the SQLite store (``oplog``, ``oplog_archive``,
``oplog_compacted``, ``snapshots``; payloads as BYTEA, CRC-32 checksums as BIGINT, verified on
every read through the same helpers and the same DecodedEntries), plus ``shard_leases`` (see
LEASES_SCHEMA), which lease code elsewhere writes and fencing here reads.

Connections. A small pool (a queue of at most ``pool_size`` autocommit psycopg connections,
opened on demand): each operation borrows one, runs its statements, and gives it back, so
many executor threads append at once, each in its own transaction. A connection that broke is
dropped and a fresh one opened on the next borrow.

Transactions. An append is one transaction: the worker's length (highest hot index or
compaction watermark) is checked against ``first_index``, then the rows go in with one
pipelined ``executemany``. Two racing appends at the same index both pass the check, and the
primary key (worker, idx) makes the second wait for the first and fail: that unique violation
is an OplogConflict too. Snapshots, compaction and deletion take a per-worker advisory lock in
their transaction, so they are ordered with each other as SQLite's write lock orders them.
``read_archived`` reads the watermark and the rows in one REPEATABLE READ snapshot.

Group commit. The SQLite store batches many workers' appends into one transaction by a
leader, because SQLite has a single writer and one fsync per commit. PostgreSQL commits
concurrent transactions from separate connections in parallel, and its WAL flush is a group
commit already: a backend flushing the WAL flushes every commit record written before it, so
concurrent appenders share fsyncs without any batching here.

Fencing. ``fenced(shard, epoch, shard_of)`` is a view whose every write first runs, in its
own transaction, ``SELECT epoch FROM shard_leases WHERE shard = %s FOR SHARE`` and raises
Fenced (rolling back, writing nothing) unless the row is there with the view's epoch. The
share lock makes a lease takeover (an UPDATE of that row) wait until every write that
already passed the check has committed, and a write after the takeover re-reads the row and
sees the new epoch: an executor whose lease was taken over can never write again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, Fenced, GolemError, OplogConflict
from ..ids import WorkerId
from ..postgres import connect, redacted
from .decoded import DecodedEntries
from .entries import OplogEntry, encode_entry, entry_checksum
from .fenced_store import Fence, FencedOplogStore
from .postgres_schema import (
    APPEND,
    APPEND_FENCED,
    LEASES_SCHEMA,
    SCHEMA,
    SCHEMA_LOCK,
    UNIQUE_VIOLATION,
    WORKER_LOCK_CLASS,
    WORKERS_QUERY,
    compacted_through,
    oplog_length,
    snapshot_index,
)
from .snapshot import (
    Snapshot,
    archived_entries,
    check_compaction,
    check_snapshot_index,
    snapshot_checksum,
    verified_snapshot,
)

__all__ = ["LEASES_SCHEMA", "PostgresOplogStore"]

if TYPE_CHECKING:
    import psycopg

    from .store import OplogStore


class PostgresOplogStore:
    """Oplogs in a PostgreSQL database (``postgresql://`` URL), shared by several processes.

    ``read_only`` opens an existing golemsim database without creating anything (BadRequest
    when it holds no oplog table); writes then raise BadRequest.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        decoded: DecodedEntries | None = None,
        read_only: bool = False,
    ) -> None:
        if pool_size < 1:
            raise BadRequest(f"pool_size must be at least 1, got {pool_size}")
        self.url = url
        self.read_only = read_only
        self._name = redacted(url)
        self._decoded = decoded or DecodedEntries()
        self._pool_size = pool_size
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._opened = 0
        self._lock = threading.Lock()
        self._closed = False
        first = connect(url)
        import psycopg  # connect succeeded, so psycopg is installed

        self._db_error: type[Exception] = psycopg.Error
        self._opened = 1
        try:
            if read_only:
                if first.execute("SELECT to_regclass('oplog')").fetchone() in (None, (None,)):
                    raise BadRequest(f"{self._name} is not a golemsim database (it has no oplog table)")
            else:
                with first.transaction():  # several processes may open a new database at once
                    first.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    first.execute(SCHEMA)
        except BaseException:
            first.close()
            raise
        self._idle.put(first)

    # -- the connection pool --------------------------------------------------------------

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self._borrow()
        try:
            yield conn
        except self._db_error as error:
            if getattr(error, "sqlstate", None) == UNIQUE_VIOLATION:
                raise OplogConflict(f"a concurrent write to {self._name} took the same index: {error}") from None
            raise GolemError(f"oplog store {self._name}: {str(error).strip() or type(error).__name__}") from None
        finally:
            self._give_back(conn)

    def _borrow(self) -> psycopg.Connection[Any]:
        """An idle connection, else a new one while fewer than pool_size are open, else wait for one."""
        while True:
            with self._lock:
                if self._closed:
                    raise GolemError(f"oplog store {self._name} is closed")
                try:
                    return self._idle.get_nowait()
                except queue.Empty:
                    if self._opened < self._pool_size:
                        self._opened += 1
                        break
            try:
                return self._idle.get(timeout=0.5)  # then look again: closed, or a broken one dropped
            except queue.Empty:
                continue
        try:
            return connect(self.url)
        except BaseException:
            with self._lock:
                self._opened -= 1
            raise

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        with self._lock:
            if conn.broken or conn.closed or self._closed:
                self._opened -= 1
                conn.close()
                return
        self._idle.put(conn)

    def _writable(self) -> None:
        if self.read_only:
            raise BadRequest(f"oplog store {self._name} is open read-only")

    def _check_fence(self, conn: psycopg.Connection[Any], fence: Fence | None) -> None:
        if fence is None:
            return
        row = conn.execute("SELECT epoch FROM shard_leases WHERE shard = %s FOR SHARE", (fence.shard,)).fetchone()
        if row is None or int(row[0]) != fence.epoch:
            now = "no lease" if row is None else f"the lease is at epoch {row[0]}"
            raise Fenced(f"shard {fence.shard}: this writer holds epoch {fence.epoch}, but {now}; write refused")

    def _lock_worker(self, conn: psycopg.Connection[Any], key: str) -> None:
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (WORKER_LOCK_CLASS, key))

    # -- writing ------------------------------------------------------------------------

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        self._append(worker, first_index, entries, None)

    def _append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry], fence: Fence | None) -> None:
        self._writable()
        key = str(worker)
        rows = []
        for offset, entry in enumerate(entries):
            payload = encode_entry(entry)
            index = first_index + offset
            rows.append((key, index, entry.kind, payload, entry_checksum(key, index, payload)))
        if rows:
            with self._conn() as conn:
                # One statement, one round trip: it inserts only when the fence holds and the
                # index is the next free one (a concurrent append at the same index hits the
                # primary key: OplogConflict). Only when it inserted nothing do we ask why.
                inserted = conn.execute(
                    APPEND_FENCED if fence is not None else APPEND,
                    {
                        "w": key,
                        "first": first_index,
                        "idx": [row[1] for row in rows],
                        "kind": [row[2] for row in rows],
                        "payload": [row[3] for row in rows],
                        "checksum": [row[4] for row in rows],
                        "shard": fence.shard if fence is not None else None,
                        "epoch": fence.epoch if fence is not None else None,
                    },
                ).rowcount
            if inserted == len(rows):
                return
        with self._conn() as conn, conn.transaction():
            self._check_fence(conn, fence)
            length = oplog_length(conn, key)
            if first_index != length + 1:
                raise OplogConflict(f"append to {worker} at {first_index}, but its oplog has {length} entries")
            if rows:  # the conditions held a moment ago and hold now: insert as a transaction
                with conn.cursor() as cursor:
                    cursor.executemany("INSERT INTO oplog VALUES (%s, %s, %s, %s, %s)", rows)

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        self._put_snapshot(worker, snapshot, None)

    def _put_snapshot(self, worker: WorkerId, snapshot: Snapshot, fence: Fence | None) -> None:
        self._writable()
        key = str(worker)
        with self._conn() as conn, conn.transaction():
            self._check_fence(conn, fence)
            self._lock_worker(conn, key)
            check_snapshot_index(worker, snapshot, oplog_length(conn, key), snapshot_index(conn, key))
            conn.execute(
                "INSERT INTO snapshots VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (worker) DO UPDATE SET"
                " idx = excluded.idx, template_version = excluded.template_version,"
                " component_hash = excluded.component_hash, data = excluded.data, at_ms = excluded.at_ms,"
                " checksum = excluded.checksum",
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

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        return self._compact(worker, through_index, archive, None)

    def _compact(self, worker: WorkerId, through_index: int, archive: bool, fence: Fence | None) -> int:
        self._writable()
        key = str(worker)
        with self._conn() as conn, conn.transaction():
            self._check_fence(conn, fence)
            self._lock_worker(conn, key)
            check_compaction(worker, through_index, oplog_length(conn, key), snapshot_index(conn, key))
            if through_index <= compacted_through(conn, key):
                return 0
            if archive:
                conn.execute(
                    "INSERT INTO oplog_archive SELECT worker, idx, kind, payload, checksum FROM oplog"
                    " WHERE worker = %s AND idx <= %s",
                    (key, through_index),
                )
            moved = conn.execute("DELETE FROM oplog WHERE worker = %s AND idx <= %s", (key, through_index)).rowcount
            conn.execute(
                "INSERT INTO oplog_compacted VALUES (%s, %s)"
                " ON CONFLICT (worker) DO UPDATE SET through_idx = excluded.through_idx",
                (key, through_index),
            )
            return int(moved)

    def delete(self, worker: WorkerId) -> None:
        self._delete(worker, None)

    def _delete(self, worker: WorkerId, fence: Fence | None) -> None:
        self._writable()
        key = str(worker)
        with self._conn() as conn, conn.transaction():
            self._check_fence(conn, fence)
            self._lock_worker(conn, key)
            for table in ("oplog", "oplog_archive", "oplog_compacted", "snapshots"):
                conn.execute(f"DELETE FROM {table} WHERE worker = %s", (key,))
        self._decoded.forget(key)

    # -- reading ------------------------------------------------------------------------

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        key = str(worker)
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT idx, payload, checksum FROM oplog WHERE worker = %s AND idx >= %s AND idx <= %s ORDER BY idx",
                (key, start, end if end is not None else 2**62),
            ).fetchall()
        return self._decoded.decode(key, rows)

    def length(self, worker: WorkerId) -> int:
        with self._conn() as conn:
            return oplog_length(conn, str(worker))

    def first_index(self, worker: WorkerId) -> int:
        with self._conn() as conn:
            return compacted_through(conn, str(worker)) + 1

    def workers(self) -> list[tuple[WorkerId, int]]:
        with self._conn() as conn:
            rows = conn.execute(WORKERS_QUERY).fetchall()
        return [(WorkerId.parse(name), int(length)) for name, length in rows]

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        key = str(worker)
        with self._conn() as conn:
            row = conn.execute(
                "SELECT idx, template_version, component_hash, data, at_ms, checksum FROM snapshots WHERE worker = %s",
                (key,),
            ).fetchone()
        if row is None:
            return None
        index, version, digest, data, at_ms, checksum = row
        return verified_snapshot(
            key, Snapshot(int(index), int(version), str(digest), bytes(data), int(at_ms)), int(checksum)
        )

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        key = str(worker)
        with self._conn() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # watermark and rows from one snapshot
            compacted = compacted_through(conn, key)
            last = compacted if end is None else min(end, compacted)
            rows = conn.execute(
                "SELECT idx, payload, checksum FROM oplog_archive WHERE worker = %s AND idx >= %s AND idx <= %s"
                " ORDER BY idx",
                (key, start, last),
            ).fetchall()
        return archived_entries(self._decoded, worker, rows, start, last)

    # -- fencing and closing ------------------------------------------------------------

    def fenced(self, shard: int, epoch: int, shard_of: Callable[[WorkerId], int]) -> OplogStore:
        """A view of this store whose writes succeed only while ``shard``'s lease is at ``epoch``
        (else Fenced), and whose ``workers`` lists only the shard's workers."""
        return FencedOplogStore(self, Fence(shard, epoch), shard_of)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            conn.close()
