"""Commands that only read (oplog, workers, templates, promise list) open the database read-only:
a missing or foreign file is exit 2 naming it, and nothing is created or changed. Run as real
subprocesses on real databases (one made by the CLI, one by `golemsim sim run`)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support import COUNTER
from support.sim_runs import TINY_COUNTERS

READERS = (("oplog", "counter/c1"), ("workers",), ("templates",), ("promise", "list", "counter/c1"))


def golemsim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def reader(command: tuple[str, ...], db: str) -> tuple[str, ...]:
    """The command with ``--db db`` after its (sub)command name."""
    cut = 2 if command[0] == "promise" else 1
    return (*command[:cut], "--db", db, *command[cut:])


def state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file in the folder: its bytes and mtime."""
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir()) if p.is_file()}


def tables(db: Path, scratch: Path) -> list[str]:
    """The database's tables, read from a copy (with its -wal, if any) so that looking changes nothing."""
    scratch.mkdir(exist_ok=True)
    for suffix in ("", "-wal"):
        if Path(f"{db}{suffix}").exists():
            shutil.copyfile(f"{db}{suffix}", scratch / f"copy.db{suffix}")
    conn = sqlite3.connect(scratch / "copy.db")
    try:
        return sorted(row[0] for row in conn.execute("SELECT name FROM sqlite_master"))
    finally:
        conn.close()
        shutil.rmtree(scratch)


def test_a_missing_database_is_exit_2_naming_it_and_nothing_is_created(tmp_path: Path) -> None:
    for command in READERS:
        done = golemsim(*reader(command, "typo.db"), cwd=tmp_path)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert "no database at typo.db" in done.stderr and "Traceback" not in done.stderr
        assert list(tmp_path.iterdir()) == [], command  # no typo.db, no typo.db-services.db, no -wal/-shm


def test_a_file_that_is_not_a_golemsim_database_is_exit_2(tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("shopping list: milk, eggs, and a great deal more text than a header\n" * 4)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    before = state(tmp_path)
    for db in (notes, other):
        for command in READERS:
            done = golemsim(*reader(command, str(db)))
            assert done.returncode == 2, (command, done.stderr)
            assert f"{db} is not a golemsim database" in done.stderr and "Traceback" not in done.stderr
    assert state(tmp_path) == before


@pytest.mark.slow  # a real kernel or subprocesses: kept out of the quick loop
def test_reading_an_executor_database_changes_nothing(tmp_path: Path, counter_wasm: Path) -> None:
    db = tmp_path / "golem.db"
    assert golemsim("deploy", "--db", str(db), str(COUNTER)).returncode == 0  # writing commands still create it
    assert golemsim("invoke", "--db", str(db), "counter/c1", "increment", "5").stdout == "5\n"
    before, listed = state(tmp_path), tables(db, tmp_path / "scratch")
    assert db.name in before and f"{db.name}-services.db" in before
    for command in READERS:
        done = golemsim(*reader(command, str(db)))
        assert done.returncode == 0, (command, done.stderr)
    assert golemsim("workers", "--db", str(db)).stdout.splitlines()[1].split()[:2] == ["counter/c1", "counter"]
    assert golemsim("templates", "--db", str(db)).stdout.splitlines()[1].split()[:2] == ["counter", "1"]
    assert state(tmp_path) == before and tables(db, tmp_path / "scratch") == listed


@pytest.mark.slow
def test_reading_a_results_folder_database_changes_nothing(tmp_path: Path, counter_wasm: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_COUNTERS)
    out = tmp_path / "out"
    assert golemsim("sim", "run", "tiny.yaml", "--out", str(out), "--seed", "5", cwd=tmp_path).returncode == 0
    db = out / "oplogs-workers.db"
    before, listed = state(out), tables(db, tmp_path / "scratch")
    assert "templates" not in listed  # a simulation's oplog file: oplogs only

    workers = golemsim("workers", "--db", str(db), "--json")
    assert workers.returncode == 0, workers.stderr
    first = json.loads(workers.stdout)[0]["worker"]
    oplog = golemsim("oplog", "--db", str(db), first)
    assert oplog.returncode == 0 and oplog.stdout.split()[:2] == ["1", "create"]
    templates = golemsim("templates", "--db", str(db))
    assert (templates.returncode, templates.stdout) == (0, f"no templates deployed in {db}\n")
    assert golemsim("promise", "list", "--db", str(db), first).returncode == 0

    assert (
        state(out) == before and tables(db, tmp_path / "scratch") == listed
    )  # bytes, mtimes and tables as the run left them


def test_a_database_from_before_snapshots_reads_unchanged(tmp_path: Path, counter_wasm: Path) -> None:
    db = tmp_path / "golem.db"
    assert golemsim("deploy", "--db", str(db), str(COUNTER)).returncode == 0
    assert golemsim("invoke", "--db", str(db), "counter/c1", "increment", "5").stdout == "5\n"
    conn = sqlite3.connect(db)  # as a database made before archives, compaction and snapshots
    for table in ("oplog_archive", "oplog_compacted", "snapshots"):
        conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    before, listed = state(tmp_path), tables(db, tmp_path / "scratch")
    workers = golemsim("workers", "--db", str(db))
    assert workers.returncode == 0, workers.stderr
    assert workers.stdout.splitlines()[1].split()[:2] == ["counter/c1", "counter"]
    oplog = golemsim("oplog", "--db", str(db), "counter/c1")
    assert oplog.returncode == 0 and oplog.stdout.split()[:2] == ["1", "create"]
    assert state(tmp_path) == before and tables(db, tmp_path / "scratch") == listed
