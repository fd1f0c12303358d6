"""Kill a real executor process with SIGKILL and check that every worker goes on exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import CHILDREN

from golemsim import Executor, LedgerService
from golemsim.demo import run_crash_demo

CHILD = CHILDREN / "crash_child.py"


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_until(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the child process")
        time.sleep(0.01)


def _kill_while_blocked_then_resume(
    tmp_path: Path, wasm: Path, function: str, blocked_operation: str
) -> tuple[LedgerService, list[tuple[str, str, str, object]], str]:
    """Run FUNCTION in a child executor, SIGKILL it while the ledger blocks BLOCKED_OPERATION,
    then run it again with the same key. Returns the ledger, what it had received at the
    kill, and the second child's output."""
    db, ledger_path = tmp_path / "golem.db", tmp_path / "services.db"
    block = Path(str(ledger_path) + ".block")
    block.write_text(blocked_operation)
    child = _spawn("call", str(db), str(ledger_path), str(wasm), function, "inv-1")
    ledger = LedgerService(ledger_path)
    _wait_until(lambda: any(op == blocked_operation for _, op, _, _ in ledger.received()))
    child.send_signal(signal.SIGKILL)
    child.wait()
    at_kill = ledger.received()
    block.unlink()
    child = _spawn("call", str(db), str(ledger_path), str(wasm), function, "inv-1")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    return ledger, at_kill, out.strip()


def test_kill_inside_second_external_call_then_resume(tmp_path: Path, testkit_wasm: Path) -> None:
    ledger, before, out = _kill_while_blocked_then_resume(tmp_path, testkit_wasm, "two-calls", "second")
    assert [op for _, op, _, _ in before] == ["first", "second"]
    assert out == "{'ok': ['first', 'second']}"

    received = [(op, key) for _, op, key, _ in ledger.received()]
    first_key, second_key = before[0][2], before[1][2]
    # The first call happened once and was not sent again; the second was re-sent with the same key ...
    assert received == [("first", first_key), ("second", second_key), ("second", second_key)]
    # ... and applied once by the deduplicating service.
    assert [(op, key) for _, op, key, _ in ledger.applied()] == [("first", first_key), ("second", second_key)]
    with Executor.open(tmp_path / "golem.db", resume=False, exclusive=False) as ex:
        kinds = [entry.kind for _, entry in ex.oplog("testkit/w")]
    assert kinds.count("invocation-completed") == 1
    assert kinds.count("begin-remote-write") == 2


@pytest.mark.slow
def test_two_hundred_invocations_with_kills_at_random_instants(tmp_path: Path) -> None:
    report = run_crash_demo(tmp_path, invocations=200, seed=2026, max_kills=20)
    assert report.valid, report.problems
    assert report.kills >= 10
    # Count acknowledged invocations against the final state, straight from the oplog.
    with Executor.open(tmp_path / "golem.db", resume=False, exclusive=False) as ex:
        entries = ex.oplog("counter/demo")
    completed = [e for _, e in entries if e.kind == "invocation-completed" and e.idempotency_key.startswith("demo-")]
    assert [e.result for e in completed] == list(range(1, 201))
    assert report.final_total == 200
    assert len(report.recovery_seconds) >= report.kills - 1  # the last kill may come after the last ack
    assert (tmp_path / "report.md").read_text().count("VALID") == 1
    assert (tmp_path / "timeline.png").stat().st_size > 0


def test_kill_inside_an_atomic_region_reruns_the_region_whole(tmp_path: Path, testkit_wasm: Path) -> None:
    ledger, _, out = _kill_while_blocked_then_resume(tmp_path, testkit_wasm, "atomic-pair", "atomic-second")
    assert out == "['atomic-first', 'atomic-second']"
    # The region ran again from its start: the first call was re-sent, with the same key,
    # so the deduplicating service still applied each call once.
    received = [op for _, op, _, _ in ledger.received()]
    assert received == ["atomic-first", "atomic-second", "atomic-first", "atomic-second"]
    applied = ledger.applied()
    assert [op for _, op, _, _ in applied] == ["atomic-first", "atomic-second"]
    with Executor.open(tmp_path / "golem.db", resume=False, exclusive=False) as ex:
        jumps = [e for _, e in ex.oplog("testkit/w") if e.kind == "jump"]
    assert len(jumps) == 1


@pytest.mark.slow
def test_kill_during_a_durable_sleep_resumes_the_remaining_time(tmp_path: Path, testkit_wasm: Path) -> None:
    db, ledger_path = tmp_path / "golem.db", tmp_path / "services.db"
    child = _spawn("nap", str(db), str(ledger_path), str(testkit_wasm), "3000")

    def sleeping() -> bool:
        if not db.exists():
            return False
        with Executor.open(db, resume=False, exclusive=False) as ex:
            return any(getattr(e, "function", None) == "sleep" for _, e in ex.oplog("testkit/w"))

    _wait_until(sleeping)
    time.sleep(2.0)
    child.send_signal(signal.SIGKILL)
    child.wait()
    child = _spawn("nap", str(db), str(ledger_path), str(testkit_wasm), "3000")
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    with Executor.open(db, resume=False, exclusive=False) as ex:
        entries = [e for _, e in ex.oplog("testkit/w")]
    begin = next(e for e in entries if e.kind == "begin-remote-write" and e.function == "sleep")
    woke = next(e for e in entries if e.kind == "host-call" and e.function == "sleep")
    # Restarting the sleep from zero would wake at least 5 s after it began; resuming wakes at 3 s.
    assert 3000 <= woke.at_ms - begin.at_ms < 4500
    assert [e.kind for e in entries].count("begin-remote-write") == 1
