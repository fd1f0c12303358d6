"""Bad input gets a clear error and loses nothing: traps, loops, memory bombs, divergence, corruption."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from golemsim import (
    BadRequest,
    Executor,
    FunctionNotFound,
    InvalidComponent,
    InvocationFailed,
    LedgerRegistry,
    ResourceLimits,
    WorkerFailed,
    WorkerStatus,
)


def test_trap_fails_the_invocation_and_the_worker_stays_usable(executor: Executor) -> None:
    assert executor.invoke("testkit", "w", "add", [2]) == 2
    with pytest.raises(InvocationFailed, match="boom-message"):
        executor.invoke("testkit", "w", "crash", ["boom-message"])
    # The trapped invocation's effects are rolled back; earlier state is intact.
    assert executor.invoke("testkit", "w", "add", [3]) == 5
    kinds = [entry.kind for _, entry in executor.oplog("testkit/w")]
    assert "invocation-failed" in kinds


def test_infinite_loop_is_stopped_while_other_workers_are_served(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    limits = ResourceLimits(timeout_seconds=1.0)
    with Executor.open(tmp_path / "golem.db", services=ledger, limits=limits) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        ex.invoke("testkit", "other", "add", [0])  # warm: instantiate before the loop starts
        looping = ex.submit("testkit", "looper", "spin", [])
        served = [ex.invoke("testkit", "other", "add", [1]) for _ in range(5)]
        assert served == [1, 2, 3, 4, 5]
        assert not looping.done()  # the loop was still running while we were served
        with pytest.raises(InvocationFailed, match="timed out"):
            looping.result(timeout=30)
        assert ex.invoke("testkit", "looper", "add", [4]) == 4


def test_fuel_limit_stops_a_loop_deterministically(tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path) -> None:
    limits = ResourceLimits(fuel_per_invocation=50_000_000, timeout_seconds=None)
    with Executor.open(tmp_path / "golem.db", services=ledger, limits=limits) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        with pytest.raises(InvocationFailed, match="ran out of fuel"):
            ex.invoke("testkit", "w", "spin", [])
        failed = [entry for _, entry in ex.oplog("testkit/w") if entry.kind == "invocation-failed"]
        assert failed and failed[0].fuel >= 50_000_000 - 10_000


def test_memory_bomb_hits_the_limit_and_others_keep_going(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    limits = ResourceLimits(memory_bytes=128 * 1024 * 1024)
    with Executor.open(tmp_path / "golem.db", services=ledger, limits=limits) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        assert ex.invoke("testkit", "bomber", "bomb", [1]) == 1
        with pytest.raises(InvocationFailed, match="out of memory"):
            ex.invoke("testkit", "bomber", "bomb", [1000])
        assert ex.invoke("testkit", "other", "add", [1]) == 1
        # The bomber is rolled back to before the bomb and keeps working.
        assert ex.invoke("testkit", "bomber", "bomb", [1]) == 2


def test_divergence_when_code_changes_under_an_existing_oplog(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path, testkit_changed_wasm: Path
) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db, services=ledger) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        ex.invoke("testkit", "w", "two-calls", ["a"])
        ex.invoke("testkit", "healthy", "add", [1])
        ex.deploy(testkit_changed_wasm, name="testkit", version=1, replace=True)
        with pytest.raises(WorkerFailed, match=r"diverged from its oplog at entry \d+: recorded begin-remote-write"):
            ex.restart_worker("testkit/w")
        length = len(ex.oplog("testkit/w"))
        with pytest.raises(WorkerFailed, match="diverged"):
            ex.invoke("testkit", "w", "two-calls", ["b"])
        assert len(ex.oplog("testkit/w")) == length  # nothing more was written
    with Executor.open(db, services=ledger) as ex:
        status = {str(i.worker_id): i for i in ex.workers()}
        assert status["testkit/w"].status is WorkerStatus.FAILED
        assert "diverged" in (status["testkit/w"].error or "")


def test_corrupt_last_entry_is_detected_and_nothing_after_it_is_replayed(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db, services=ledger) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        for n in range(3):
            ex.invoke("testkit", "w", "add", [n])
        ex.invoke("testkit", "neighbour", "add", [10])
    with sqlite3.connect(db) as conn:
        (last,) = conn.execute("SELECT max(idx) FROM oplog WHERE worker='testkit/w'").fetchone()
        (payload,) = conn.execute("SELECT payload FROM oplog WHERE worker='testkit/w' AND idx=?", (last,)).fetchone()
        torn = bytes(payload)[: len(payload) // 2]
        conn.execute("UPDATE oplog SET payload=? WHERE worker='testkit/w' AND idx=?", (torn, last))
    with Executor.open(db, services=ledger) as ex:
        with pytest.raises(WorkerFailed, match=rf"oplog of worker testkit/w is corrupt at entry {last}"):
            ex.invoke("testkit", "w", "add", [1])
        assert ex.invoke("testkit", "neighbour", "add", [1]) == 11
        infos = {str(i.worker_id): i for i in ex.workers()}
        assert infos["testkit/w"].status is WorkerStatus.FAILED
    with sqlite3.connect(db) as conn:  # every durable byte is still there, the torn one included
        rows = conn.execute("SELECT idx, payload FROM oplog WHERE worker='testkit/w' ORDER BY idx").fetchall()
    assert len(rows) == last and bytes(rows[-1][1]) == torn


def test_malformed_wasm_is_rejected_with_a_clear_error(executor: Executor) -> None:
    with pytest.raises(InvalidComponent, match="not a valid WebAssembly component"):
        executor.deploy(b"\0asm-not-really", name="junk")
    assert [t.name for t in executor.list_templates()] == ["testkit"]


def test_bad_arguments_are_refused_before_anything_is_written(executor: Executor) -> None:
    with pytest.raises(BadRequest, match=r"add\(n\): expected s64"):
        executor.invoke("testkit", "w", "add", ["five"])
    with pytest.raises(FunctionNotFound, match="no function 'nope'"):
        executor.invoke("testkit", "w", "nope", [])
    with pytest.raises(BadRequest, match="expected 1 argument"):
        executor.invoke("testkit", "w", "add", [])
    assert executor.oplog("testkit/w") == []


def test_concurrent_traps_do_not_disturb_each_other(executor: Executor) -> None:
    errors: list[str] = []

    def crash(name: str) -> None:
        try:
            executor.invoke("testkit", name, "crash", [name])
        except InvocationFailed as error:
            errors.append(error.message)

    threads = [threading.Thread(target=crash, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 4


def test_a_slow_service_does_not_count_against_the_guest_timeout(tmp_path: Path, testkit_wasm: Path) -> None:
    def slow(service: str, operation: str, payload: Any) -> Any:
        time.sleep(0.8)
        return {"operation": operation}

    ledger = LedgerRegistry(tmp_path / "services.db", behaviour=slow)
    with Executor.open(tmp_path / "golem.db", services=ledger, limits=ResourceLimits(timeout_seconds=0.5)) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        assert ex.invoke("testkit", "w", "two-calls", ["t"]) == {"ok": ["first", "second"]}
