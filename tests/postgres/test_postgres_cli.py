"""The golemsim command line with ``--db postgresql://...``, run as real subprocesses on a real server.

The URLs carry a password (the test server trusts every connection, so any works): no output
may show it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import COUNTER

from golemsim import Executor
from golemsim.core.postgres import connect

PASSWORD = "s3cret-pw"


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300)
    assert PASSWORD not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def with_password(url: str) -> str:
    return url.replace("postgresql://golemsim@", f"postgresql://golemsim:{PASSWORD}@")


def table_names(url: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        return {row[0] for row in rows.fetchall()}


@pytest.mark.slow
def test_deploy_invoke_oplog_workers_templates(postgres_url: str, counter_wasm: Path) -> None:
    db = with_password(postgres_url)
    deployed = golemsim("deploy", "--db", db, str(COUNTER))
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed counter v1" in deployed.stdout

    first = golemsim("invoke", "--db", db, "counter/c1", "increment", "5", "--key", "K")
    assert (first.returncode, first.stdout) == (0, "5\n"), first.stderr
    again = golemsim("invoke", "--db", db, "counter/c1", "increment", "5", "--key", "K")
    assert again.stdout == "5\n"  # same key: the first result, not run again
    assert golemsim("invoke", "--db", db, "counter/c1", "increment", "2").stdout == "7\n"

    oplog = golemsim("oplog", "--db", db, "counter/c1")
    assert oplog.returncode == 0, oplog.stderr
    lines = oplog.stdout.splitlines()
    assert lines[0].split()[:2] == ["1", "create"]
    assert sum("invocation-completed" in line for line in lines) == 2
    as_json = [json.loads(line) for line in golemsim("oplog", "--db", db, "counter/c1", "--json").stdout.splitlines()]
    assert [e["index"] for e in as_json] == list(range(1, len(lines) + 1))

    workers = golemsim("workers", "--db", db)
    assert workers.stdout.splitlines()[1].split() == ["counter/c1", "counter", "1", "suspended", str(len(lines))]
    templates = golemsim("templates", "--db", db)
    assert templates.stdout.splitlines()[1].split()[:2] == ["counter", "1"]


def test_read_only_commands_on_an_empty_database_exit_2_and_create_nothing(postgres_url: str) -> None:
    db = with_password(postgres_url)
    shown = db.replace(PASSWORD, "***")
    for command in (("oplog", "counter/c1"), ("workers",), ("templates",), ("promise", "list", "counter/c1")):
        done = golemsim(*command, "--db", db)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert f"{shown} is not a golemsim database" in done.stderr, command
    assert table_names(postgres_url) == set()


def test_a_command_that_changes_the_database_is_refused_while_an_executor_has_it(postgres_url: str) -> None:
    db = with_password(postgres_url)
    with Executor.open(db):
        done = golemsim("invoke", "--db", db, "counter/c1", "increment", "1")
    assert done.returncode == 2
    assert "is in use by another executor" in done.stderr and "golemsim:***@" in done.stderr


def test_an_unreachable_server_is_named_without_its_password(postgres_url: str) -> None:
    db = with_password(postgres_url).rsplit(":", 1)[0] + ":1/nowhere"
    for command in (("workers",), ("invoke", "counter/c1", "get")):
        done = golemsim(*command, "--db", db)
        assert done.returncode == 2, done.stderr
        assert "cannot connect to postgresql://golemsim:***@127.0.0.1:1/nowhere" in done.stderr
