"""The CLI's tables (workers, templates, promise list) are sized to their content: long real
worker names do not push the other columns out of line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from support import COUNTER

from golemsim.text_table import table_lines

LONG = "counter/order-41b9b1cce00b5c331a7e-for-a-customer-with-a-rather-long-id"


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300)


def starts(line: str, words: list[str]) -> list[int]:
    """Where each word begins in the line, left to right."""
    found, at = [], 0
    for word in words:
        at = line.index(word, at)
        found.append(at)
        at += len(word)
    return found


def test_columns_are_as_wide_as_their_widest_cell() -> None:
    lines = table_lines(("NAME", "N", "NOTE"), [("a", 1, "x"), ("a-much-longer-name", 12345, "")], right=(1,))
    assert lines == [
        "NAME                    N  NOTE",
        "a                       1  x",
        "a-much-longer-name  12345",
    ]
    assert table_lines(("A", "B"), []) == ["A  B"]


def test_workers_and_templates_line_up_with_long_worker_names(tmp_path: Path, counter_wasm: Path) -> None:
    db = str(tmp_path / "golem.db")
    assert golemsim("deploy", "--db", db, str(COUNTER)).returncode == 0
    for worker in ("counter/c1", LONG):
        assert golemsim("invoke", "--db", db, worker, "increment", "1").returncode == 0

    header, *rows = golemsim("workers", "--db", db).stdout.splitlines()
    columns = ["WORKER", "TEMPLATE", "VERSION", "STATUS", "OPLOG"]
    assert [row.split()[0] for row in rows] == ["counter/c1", LONG]
    left = starts(header, columns)
    for row in rows:
        name, template, version, status, length = row.split()
        at = starts(row, [name, template, version, status, length])
        assert at[:2] == left[:2] and at[3] == left[3]  # left-aligned columns start under their heading
        assert at[2] + len(version) == left[2] + len("VERSION")  # numbers end under theirs
        assert at[4] + len(length) == left[4] + len("OPLOG")
    assert len(header) <= len(LONG) + len("  TEMPLATE  VERSION  suspended  OPLOG")  # no wider than it needs

    header, row = golemsim("templates", "--db", db).stdout.splitlines()
    assert header.split() == ["TEMPLATE", "VERSION", "SIZE", "SHA256"]
    name, version, _size, unit, digest = row.split()
    assert (name, version, unit, len(digest)) == ("counter", "1", "MB", 12)
    assert starts(row, [digest])[0] == starts(header, ["SHA256"])[0]


def test_promise_list_lines_up() -> None:
    lines = table_lines(
        ("PROMISE", "STATE", "VALUE"),
        [(f"{LONG}/promise-1", "completed", '{"approved": true}'), (f"{LONG}/promise-22", "pending", "")],
    )
    assert lines[0].index("STATE") == lines[1].index("completed") == lines[2].index("pending")
    assert lines[2] == f"{LONG}/promise-22  pending"
