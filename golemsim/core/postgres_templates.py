"""Deployed components in a PostgreSQL database: the SQLite template store's tables and queries,
on a PostgreSQL connection (see sql_connection)."""

from __future__ import annotations

import json
import threading

from .engine import component_hash
from .policy import RetryPolicy, SnapshotPolicy
from .sql_connection import SQLConnection
from .templates import SQLiteTemplateStore


class PostgresTemplateStore(SQLiteTemplateStore):
    """TemplateStore on PostgreSQL: components stored once by content hash, versions by (name, version).

    It is the SQLite store (same tables, same queries, read through SQLConnection, which
    translates the placeholders) but for creating the schema, which several processes may do
    at once (under an advisory lock), and writing, which uses ``ON CONFLICT`` instead of
    SQLite's ``INSERT OR ...``. ``read_only`` creates nothing and writes nothing (the session is
    read-only); a database without the template tables lists none.
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        conn = SQLConnection(url, read_only=read_only)
        self.shown = conn.shown
        if not read_only:
            conn.script(self.SCHEMA)
        elif not {"components", "templates"} <= conn.table_names():
            conn.close()  # nothing deployed: answer from empty tables, as the SQLite store does
            conn = SQLConnection(":memory:")
            conn.script(self.SCHEMA)
        # The inherited readers only call execute(sql, params) with ? placeholders.
        self._conn = conn  # type: ignore[assignment]
        self._sql = conn

    def put(
        self,
        name: str,
        version: int,
        data: bytes,
        retry: RetryPolicy | None = None,
        snapshot: SnapshotPolicy | None = None,
    ) -> None:
        digest = component_hash(data)
        retry_json = json.dumps(retry.to_dict()) if retry is not None else None
        snapshot_json = json.dumps(snapshot.to_dict()) if snapshot is not None else None
        with self._lock, self._sql.transaction():
            self._sql.execute(
                "INSERT INTO components (hash, bytes) VALUES (?, ?) ON CONFLICT DO NOTHING", (digest, data)
            )
            self._sql.execute(
                "INSERT INTO templates (name, version, hash, retry, snapshot) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name, version) DO UPDATE"
                " SET hash = excluded.hash, retry = excluded.retry, snapshot = excluded.snapshot",
                (name, version, digest, retry_json, snapshot_json),
            )

    def close(self) -> None:
        with self._lock:
            self._sql.close()
