"""Many connections switching one rollback-journal database to WAL at the same moment all succeed.

SQLite may refuse that switch at once ("database is locked") without waiting on its busy
timeout; golemsim's stores retry it (golemsim.core.sqlite_wal). Threads on a real file: the
sqlite3 module releases the GIL, so the opens race as separate processes' would.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from golemsim.core.oplog.sqlite_store import connect
from golemsim.core.sqlite_wal import use_wal

TRIALS = 150
OPENERS = 8


def test_connections_racing_to_wal_all_get_it(tmp_path: Path) -> None:
    failures: list[str] = []

    def open_wal(db: Path) -> None:
        try:
            conn = connect(db)
            try:
                assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            finally:
                conn.close()
        except Exception as error:  # collected and asserted below
            failures.append(f"{db.name}: {error!r}")

    for trial in range(TRIALS):
        db = tmp_path / f"old-{trial}.db"
        with sqlite3.connect(db) as conn:  # a rollback-journal database, as an old one is
            conn.execute("CREATE TABLE t (a)")
        conn.close()
        threads = [threading.Thread(target=open_wal, args=(db,)) for _ in range(OPENERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_other_errors_are_not_retried() -> None:
    conn = sqlite3.connect(":memory:")
    conn.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):  # at once, not after the patience
        use_wal(conn, patience=5)
