"""Durable waiting: long sleeps and promises suspend the worker (no instance held) and
resume it exactly once, also across executor restarts; operators interrupt and resume."""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from support import wait_for, worker_status

from golemsim import BadRequest, Executor, LedgerRegistry, WorkerStatus
from golemsim.core.errors import Interrupted
from golemsim.core.oplog.entries import BeginRemoteWrite, HostCall


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "golem.db"


def open_executor(db: Path, ledger: LedgerRegistry, testkit_wasm: Path, **options: Any) -> Executor:
    ex = Executor.open(db, services=ledger, suspend_after=0.2, **options)
    if not ex.list_templates():
        ex.deploy(testkit_wasm, name="testkit")
    return ex


def test_a_long_sleep_suspends_the_worker_and_wakes_it_on_time(
    db: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        started = time.monotonic()
        future: Future[Any] = ex.submit("testkit", "s1", "nap", [1200])
        wait_for(lambda: worker_status(ex, "testkit/s1") == WorkerStatus.WAITING)
        assert ex.live_instances() == 0  # no instance held while it sleeps
        index = future.result(timeout=15)
        assert time.monotonic() - started >= 1.2
        assert isinstance(index, int) and index > 0
        assert worker_status(ex, "testkit/s1") == WorkerStatus.IDLE


def test_a_sleeping_worker_wakes_after_an_executor_restart(
    db: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        ex.submit("testkit", "s2", "nap", [1500], idempotency_key="nap-1")
        wait_for(lambda: worker_status(ex, "testkit/s2") == WorkerStatus.WAITING)
    with open_executor(db, ledger, testkit_wasm) as ex:
        assert worker_status(ex, "testkit/s2") == WorkerStatus.WAITING
        result = ex.invoke("testkit", "s2", "nap", [1500], idempotency_key="nap-1", timeout=15)
        assert ex.invoke("testkit", "s2", "nap", [1500], idempotency_key="nap-1") == result
        entries = [entry for _, entry in ex.oplog("testkit/s2")]
    # The sleep went on from where it was (one begin marker), and did not end early.
    begins = [e for e in entries if isinstance(e, BeginRemoteWrite) and e.function == "sleep"]
    done = [e for e in entries if isinstance(e, HostCall) and e.function == "sleep"]
    assert len(begins) == 1 and len(done) == 1
    assert done[0].at_ms >= begins[0].at_ms + 1500


def test_a_promise_resumes_the_awaiting_worker_with_its_value_once(
    db: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        promise = ex.invoke("testkit", "p1", "make-promise")
        assert promise.startswith("testkit/p1/promise-")
        waiting: Future[Any] = ex.submit("testkit", "p1", "wait-promise")
        wait_for(lambda: worker_status(ex, "testkit/p1") == WorkerStatus.WAITING)
        assert ex.live_instances() == 0
        assert ex.complete_promise(promise, {"approved": True}) is True
        assert waiting.result(timeout=15) == '{"approved": true}'
        assert ex.complete_promise(promise, {"approved": False}) is False  # the first value stands
        assert ex.promises("testkit/p1") == {promise: (True, {"approved": True})}


def test_a_pending_promise_survives_an_executor_restart(db: Path, ledger: LedgerRegistry, testkit_wasm: Path) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        promise = ex.invoke("testkit", "p2", "make-promise")
        ex.submit("testkit", "p2", "wait-promise", idempotency_key="wait-1")
        wait_for(lambda: worker_status(ex, "testkit/p2") == WorkerStatus.WAITING)
    with open_executor(db, ledger, testkit_wasm) as ex:
        assert worker_status(ex, "testkit/p2") == WorkerStatus.WAITING
        assert ex.complete_promise(promise, [1, 2, 3])
        assert ex.invoke("testkit", "p2", "wait-promise", idempotency_key="wait-1", timeout=15) == "[1, 2, 3]"
    with open_executor(db, ledger, testkit_wasm) as ex:  # replay gives the value again, once
        ex.restart_worker("testkit/p2")
        assert ex.invoke("testkit", "p2", "wait-promise", idempotency_key="wait-1") == "[1, 2, 3]"


def test_a_promise_completed_before_it_is_awaited_does_not_suspend(
    db: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        promise = ex.invoke("testkit", "p3", "make-promise")
        ex.complete_promise(promise, "early")
        assert ex.invoke("testkit", "p3", "wait-promise", timeout=15) == '"early"'


def test_unknown_promises_are_refused(db: Path, ledger: LedgerRegistry, testkit_wasm: Path) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        ex.invoke("testkit", "p4", "make-promise")
        with pytest.raises(BadRequest, match="has no promise"):
            ex.complete_promise("testkit/p4/promise-nope", 1)
        with pytest.raises(BadRequest, match="invalid promise id"):
            ex.complete_promise("not-a-promise", 1)


def test_interrupt_stops_a_worker_until_resume(db: Path, ledger: LedgerRegistry, testkit_wasm: Path) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        first: Future[Any] = ex.submit("testkit", "i1", "nap", [800], idempotency_key="long-nap")
        wait_for(lambda: worker_status(ex, "testkit/i1") == WorkerStatus.WAITING)
        ex.interrupt("testkit/i1")
        with pytest.raises(Interrupted):
            first.result(timeout=5)
        queued: Future[Any] = ex.submit("testkit", "i1", "add", [3])
        time.sleep(1.2)  # past the nap's end: nothing runs while interrupted
        assert worker_status(ex, "testkit/i1") == WorkerStatus.INTERRUPTED
        assert not queued.done()
    with open_executor(db, ledger, testkit_wasm) as ex:  # interrupted survives a restart
        assert worker_status(ex, "testkit/i1") == WorkerStatus.INTERRUPTED
        assert ex.resume("testkit/i1") is True
        assert ex.invoke("testkit", "i1", "nap", [800], idempotency_key="long-nap", timeout=15) > 0
        wait_for(lambda: ex.invoke("testkit", "i1", "add", [0]) == 3)
        assert ex.resume("testkit/i1") is False


def test_an_interrupted_worker_with_queued_work_can_be_deleted(
    db: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    with open_executor(db, ledger, testkit_wasm) as ex:
        ex.invoke("testkit", "d1", "add", [1])
        ex.interrupt("testkit/d1")
        queued: Future[Any] = ex.submit("testkit", "d1", "add", [1])
    with open_executor(db, ledger, testkit_wasm) as ex:  # reloaded interrupted: nothing starts running
        ex.delete_worker("testkit/d1")
        assert ex.workers() == []
    assert queued.done()
