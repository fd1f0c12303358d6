"""The golemsim command line, run as a real subprocess on a real database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import COUNTER


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300)


def test_deploy_invoke_oplog_workers(tmp_path: Path, counter_wasm: Path) -> None:
    db = str(tmp_path / "golem.db")
    deployed = golemsim("deploy", "--db", db, str(COUNTER))
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed counter v1" in deployed.stdout
    assert "increment(by: s64) -> s64" in deployed.stdout

    first = golemsim("invoke", "--db", db, "counter/c1", "increment", "5", "--key", "K")
    assert (first.returncode, first.stdout) == (0, "5\n")
    again = golemsim("invoke", "--db", db, "counter/c1", "increment", "5", "--key", "K")
    assert again.stdout == "5\n"  # same key: the first result, not run again
    assert golemsim("invoke", "--db", db, "counter/c1", "increment", "2").stdout == "7\n"

    oplog = golemsim("oplog", "--db", db, "counter/c1")
    lines = oplog.stdout.splitlines()
    assert lines[0].split()[:2] == ["1", "create"]
    assert sum("invocation-completed" in line for line in lines) == 2
    as_json = [json.loads(line) for line in golemsim("oplog", "--db", db, "counter/c1", "--json").stdout.splitlines()]
    assert [e["index"] for e in as_json] == list(range(1, len(lines) + 1))

    workers = golemsim("workers", "--db", db)
    assert workers.stdout.splitlines()[1].split() == ["counter/c1", "counter", "1", "suspended", str(len(lines))]


def test_errors_are_named_without_a_traceback(tmp_path: Path, counter_wasm: Path) -> None:
    db = str(tmp_path / "golem.db")
    assert golemsim("deploy", "--db", db, str(counter_wasm), "--name", "counter").returncode == 0
    cases = [
        (("invoke", "--db", db, "counter/c1", "increment", "five"), "expected s64, got 'five'"),
        (("invoke", "--db", db, "counter", "get"), "expected TEMPLATE/NAME"),
        (("invoke", "--db", db, "ghost/g1", "get"), "template 'ghost' is not deployed"),
        (("deploy", "--db", db, str(tmp_path / "missing.wasm")), "no template folder or .wasm file"),
    ]
    for args, message in cases:
        done = golemsim(*args)
        assert done.returncode == 2, args
        assert message in done.stderr
        assert "Traceback" not in done.stderr
    junk = tmp_path / "junk.wasm"
    junk.write_bytes(b"not wasm at all")
    done = golemsim("deploy", "--db", db, str(junk))
    assert done.returncode == 2 and "not a valid WebAssembly component" in done.stderr


def test_build_is_cached_by_source_hash() -> None:
    done = golemsim("build", str(COUNTER))
    assert done.returncode == 0, done.stderr
    assert "cached" in golemsim("build", str(COUNTER)).stdout
