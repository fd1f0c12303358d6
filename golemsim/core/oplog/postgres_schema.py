"""The PostgreSQL oplog store's tables (and the shard leases' table), and the queries its
transactions share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

LEASES_SCHEMA = """
CREATE TABLE IF NOT EXISTS shard_leases (
    shard      INTEGER PRIMARY KEY,
    owner      TEXT NOT NULL,
    address    TEXT NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS oplog (
    worker   TEXT   NOT NULL,
    idx      BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    payload  BYTEA  NOT NULL,
    checksum BIGINT NOT NULL,
    PRIMARY KEY (worker, idx)
);
CREATE TABLE IF NOT EXISTS oplog_archive (
    worker   TEXT   NOT NULL,
    idx      BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    payload  BYTEA  NOT NULL,
    checksum BIGINT NOT NULL,
    PRIMARY KEY (worker, idx)
);
CREATE TABLE IF NOT EXISTS oplog_compacted (
    worker      TEXT   NOT NULL PRIMARY KEY,
    through_idx BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    worker           TEXT   NOT NULL PRIMARY KEY,
    idx              BIGINT NOT NULL,
    template_version BIGINT NOT NULL,
    component_hash   TEXT   NOT NULL,
    data             BYTEA  NOT NULL,
    at_ms            BIGINT NOT NULL,
    checksum         BIGINT NOT NULL
);
"""
    + LEASES_SCHEMA
)

SCHEMA_LOCK = 0x6F706C6F67  # the advisory lock that serializes schema creation ("oplog")
WORKER_LOCK_CLASS = 0x6F706C  # advisory locks (class, hashtext(worker)) for snapshot, compaction, deletion
UNIQUE_VIOLATION = "23505"

# A worker's length is its highest hot index, or the compaction watermark when all are compacted.
LENGTH_QUERY = (
    "SELECT coalesce(greatest((SELECT max(idx) FROM oplog WHERE worker = %(w)s),"
    " (SELECT through_idx FROM oplog_compacted WHERE worker = %(w)s)), 0)"
)
_APPEND = (
    "INSERT INTO oplog (worker, idx, kind, payload, checksum)"
    " SELECT %(w)s, r.idx, r.kind, r.payload, r.checksum"
    " FROM unnest(%(idx)s::bigint[], %(kind)s::text[], %(payload)s::bytea[], %(checksum)s::bigint[])"
    " AS r(idx, kind, payload, checksum)"
    " WHERE (" + LENGTH_QUERY.removeprefix("SELECT ") + ") = %(first)s - 1"
)
APPEND = _APPEND
"""Append a batch in one statement if ``first`` is the next free index; inserts nothing otherwise."""
APPEND_FENCED = (
    _APPEND + " AND EXISTS (SELECT 1 FROM shard_leases WHERE shard = %(shard)s AND epoch = %(epoch)s FOR SHARE)"
)
"""APPEND, and only while the shard's lease is at the writer's epoch (FOR SHARE: a takeover, an
UPDATE of that row, waits for this statement's commit; after it, this finds the new epoch)."""
WORKERS_QUERY = (
    "SELECT worker, max(n) FROM (SELECT worker, max(idx) AS n FROM oplog GROUP BY worker"
    " UNION ALL SELECT worker, through_idx FROM oplog_compacted) AS lengths GROUP BY worker ORDER BY worker"
)


def oplog_length(conn: psycopg.Connection[Any], worker: str) -> int:
    row = conn.execute(LENGTH_QUERY, {"w": worker}).fetchone()
    return int(row[0]) if row is not None else 0


def compacted_through(conn: psycopg.Connection[Any], worker: str) -> int:
    row = conn.execute("SELECT through_idx FROM oplog_compacted WHERE worker = %s", (worker,)).fetchone()
    return int(row[0]) if row is not None else 0


def snapshot_index(conn: psycopg.Connection[Any], worker: str) -> int | None:
    row = conn.execute("SELECT idx FROM snapshots WHERE worker = %s", (worker,)).fetchone()
    return int(row[0]) if row is not None else None
