"""One connection that runs the same SQL on a SQLite file or a PostgreSQL database.

The ledgers (golemsim.core.services, golemsim.shop.ledger) and the PostgreSQL template store
write their statements once, in the SQL both databases understand, with ``?`` placeholders;
SQLConnection translates what differs:

- placeholders: ``?`` becomes psycopg's ``%s`` (and a literal ``%`` becomes ``%%``);
- schema scripts: ``INTEGER PRIMARY KEY AUTOINCREMENT`` becomes ``BIGSERIAL PRIMARY KEY`` and
  ``BLOB`` ``BYTEA``; on PostgreSQL the script runs in one transaction under an advisory lock, so
  several processes may create the same tables at the same moment;
- transactions: SQLite's ``BEGIN IMMEDIATE`` (the file's write lock, across processes), or a
  PostgreSQL transaction holding ``pg_advisory_xact_lock`` on a named key (the same key in
  another process waits until this transaction ends).

A connection is not shared between threads without a lock of the caller's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .postgres import connect, is_postgres_url, redacted
from .sqlite_wal import use_wal

SCHEMA_LOCK = "golemsim schema"
"""The advisory lock key under which golemsim's PostgreSQL schema scripts run."""


def postgres_sql(sql: str) -> str:
    """A statement with ``?`` placeholders as psycopg takes it."""
    return sql.replace("%", "%%").replace("?", "%s")


def postgres_schema(script: str) -> list[str]:
    """A SQLite schema script as PostgreSQL statements, one a string."""
    translated = script.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY").replace(" BLOB", " BYTEA")
    return [statement.strip() for statement in translated.split(";") if statement.strip()]


class SQLConnection:
    """A connection to ``location``: a SQLite file (or ``":memory:"``) or a PostgreSQL URL.

    ``read_only`` (PostgreSQL only) makes every transaction of the session read-only, so that
    nothing can be written through it.
    """

    def __init__(self, location: str | Path, *, read_only: bool = False) -> None:
        self.postgres = is_postgres_url(location)
        self.shown = redacted(str(location)) if self.postgres else str(location)
        """The location for messages (a URL without its password)."""
        self._sqlite: sqlite3.Connection | None = None
        self._pg: Any = None
        if self.postgres:
            options = {"options": "-c default_transaction_read_only=on"} if read_only else {}
            self._pg = connect(str(location), **options)
        else:
            self._sqlite = sqlite3.connect(str(location), isolation_level=None, check_same_thread=False, timeout=30)
            if str(location) != ":memory:":
                use_wal(self._sqlite)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the cursor answers ``fetchone`` and ``fetchall``."""
        if self._pg is not None:
            return self._pg.execute(postgres_sql(sql), tuple(params))
        assert self._sqlite is not None
        return self._sqlite.execute(sql, tuple(params))

    def script(self, schema: str) -> None:
        """Create a schema (``CREATE ... IF NOT EXISTS`` statements written for SQLite)."""
        if self._pg is None:
            assert self._sqlite is not None
            self._sqlite.executescript(schema)
            return
        with self.transaction(lock=SCHEMA_LOCK):
            for statement in postgres_schema(schema):
                self._pg.execute(statement)

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[SQLConnection]:
        """One transaction, committed when the block ends and rolled back when it raises.

        On SQLite it holds the file's write lock from the start (``BEGIN IMMEDIATE``); on
        PostgreSQL, with ``lock``, the advisory lock of that name until it ends.
        """
        if self._pg is not None:
            with self._pg.transaction():
                if lock is not None:
                    self._pg.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (lock,))
                yield self
            return
        assert self._sqlite is not None
        self._sqlite.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self._sqlite.execute("ROLLBACK")
            raise
        self._sqlite.execute("COMMIT")

    def table_names(self) -> set[str]:
        """The tables of the database (PostgreSQL: of the connection's current schema)."""
        if self._pg is not None:
            rows = self._pg.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchall()
        else:
            assert self._sqlite is not None
            rows = self._sqlite.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return {str(row[0]) for row in rows}

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        elif self._sqlite is not None:
            self._sqlite.close()
