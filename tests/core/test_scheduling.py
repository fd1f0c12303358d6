"""Scheduled invocations: durable timers that fire on time, once, also across restarts."""

from __future__ import annotations

import time
from pathlib import Path

from support import wait_for

from golemsim import Executor, LedgerRegistry, WorkerStatus
from golemsim.core.oplog.entries import PendingInvocation


def total(ex: Executor, name: str) -> int:
    return int(ex.invoke("testkit", name, "add", [0]))


def test_a_guest_scheduled_invocation_runs_once_when_due(executor: Executor) -> None:
    key = executor.invoke("testkit", "t1", "add-later", [5, 300])
    assert key.startswith("scheduled:")
    assert total(executor, "t1") == 0  # not yet due
    assert [w.status for w in executor.workers()] == [WorkerStatus.IDLE]
    wait_for(lambda: total(executor, "t1") == 5)
    time.sleep(0.3)
    assert total(executor, "t1") == 5  # once
    pending = [e for _, e in executor.oplog("testkit/t1") if isinstance(e, PendingInvocation) and e.due_ms]
    assert len(pending) == 1 and pending[0].idempotency_key == key


def test_replaying_the_scheduling_invocation_schedules_nothing_twice(executor: Executor) -> None:
    executor.invoke("testkit", "t2", "add-later", [7, 200])
    executor.restart_worker("testkit/t2")  # replays add-later: same key, no second schedule
    wait_for(lambda: total(executor, "t2") == 7)
    time.sleep(0.3)
    assert total(executor, "t2") == 7
    pending = [e for _, e in executor.oplog("testkit/t2") if isinstance(e, PendingInvocation) and e.due_ms]
    assert len(pending) == 1


def test_a_schedule_survives_an_executor_restart(tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db, services=ledger) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        ex.invoke("testkit", "t3", "add-later", [3, 800])
    # Closed before the timer was due; it fires in the next executor, exactly once.
    with Executor.open(db, services=ledger) as ex:
        assert len(ex.scheduled()) == 1
        wait_for(lambda: total(ex, "t3") == 3)
    with Executor.open(db, services=ledger) as ex:
        assert ex.scheduled() == []
        time.sleep(0.2)
        assert total(ex, "t3") == 3


def test_the_python_api_schedules_with_a_key(executor: Executor) -> None:
    due = time.time_ns() // 1_000_000 + 200
    key = executor.schedule("testkit", "t4", "add", [2], at_ms=due, idempotency_key="later-1")
    assert key == "later-1"
    assert executor.schedule("testkit", "t4", "add", [2], at_ms=due, idempotency_key="later-1") == "later-1"
    executor.schedule("testkit", "t4", "add", [1], at_ms=0)  # in the past: runs now
    wait_for(lambda: total(executor, "t4") == 3)
    time.sleep(0.3)
    assert total(executor, "t4") == 3
