"""A database made before snapshot policies gains its column once, even when several processes
open it at the same moment (each is a real process on a real SQLite file)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

OPEN = "import sys; from golemsim.core.templates import SQLiteTemplateStore; SQLiteTemplateStore(sys.argv[1])"


def test_processes_opening_an_old_database_together_all_succeed(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # the schema before snapshot policies, with one template
        conn.execute("CREATE TABLE components (hash TEXT PRIMARY KEY, bytes BLOB NOT NULL)")
        conn.execute(
            "CREATE TABLE templates (name TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL, "
            "retry TEXT, PRIMARY KEY (name, version))"
        )
        conn.execute("INSERT INTO templates VALUES ('counter', 1, 'abc', NULL)")
    processes = [
        subprocess.Popen([sys.executable, "-c", OPEN, str(db)], stderr=subprocess.PIPE, text=True) for _ in range(6)
    ]
    failures = [p.stderr.read() for p in processes if p.wait() != 0]  # type: ignore[union-attr]
    assert failures == []
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(templates)")]
        rows = conn.execute("SELECT name, version, hash, snapshot FROM templates").fetchall()
    assert columns.count("snapshot") == 1 and rows == [("counter", 1, "abc", None)]
