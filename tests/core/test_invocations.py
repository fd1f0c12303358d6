"""Invocation semantics: idempotency keys, FIFO order, worker-to-worker calls, atomic regions, sleep."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from golemsim import Executor, InvocationFailed, LedgerRegistry, WorkerStatus


def test_duplicate_idempotency_key_returns_the_first_result_and_never_runs_again(executor: Executor) -> None:
    assert executor.invoke("testkit", "w", "add", [5], idempotency_key="same") == 5
    assert executor.invoke("testkit", "w", "add", [5], idempotency_key="same") == 5
    assert executor.invoke("testkit", "w", "add", [1]) == 6
    started = [e for _, e in executor.oplog("testkit/w") if e.kind == "invocation-started"]
    assert [e.idempotency_key for e in started].count("same") == 1


def test_duplicate_key_of_a_failed_invocation_fails_again_without_running(executor: Executor) -> None:
    with pytest.raises(InvocationFailed):
        executor.invoke("testkit", "w", "crash", ["x"], idempotency_key="bad")
    length = len(executor.oplog("testkit/w"))
    with pytest.raises(InvocationFailed, match="guest raised RuntimeError: x"):
        executor.invoke("testkit", "w", "crash", ["x"], idempotency_key="bad")
    assert len(executor.oplog("testkit/w")) == length


def test_concurrent_duplicates_share_one_run(executor: Executor) -> None:
    futures = [executor.submit("testkit", "w", "add", [3], idempotency_key="k") for _ in range(10)]
    assert {f.result(timeout=60) for f in futures} == {3}
    assert executor.invoke("testkit", "w", "add", [0]) == 3


def test_fifo_order_under_concurrent_callers(executor: Executor) -> None:
    results: dict[int, int] = {}
    lock = threading.Lock()

    def caller(n: int) -> None:
        value = executor.invoke("testkit", "w", "add", [1], idempotency_key=f"c{n}")
        with lock:
            results[n] = value

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Never overlapping: every caller saw a distinct total.
    assert sorted(results.values()) == list(range(1, 25))
    entries = [e for _, e in executor.oplog("testkit/w")]
    accepted = [e.idempotency_key for e in entries if e.kind == "pending-invocation"]
    started = [e.idempotency_key for e in entries if e.kind == "invocation-started"]
    completed = [e.result for e in entries if e.kind == "invocation-completed"]
    assert started == accepted  # run in the order they were accepted
    assert completed == list(range(1, 25))
    assert [results[int(key[1:])] for key in accepted] == list(range(1, 25))


def test_worker_to_worker_call_is_exactly_once_across_a_restart(executor: Executor, ledger: LedgerRegistry) -> None:
    result = executor.invoke(
        "testkit", "caller", "call-worker", ["testkit", "callee", "add", "[10]"], idempotency_key="r"
    )
    assert result == {"ok": "10"}
    executor.restart_worker("testkit/caller")
    assert (
        executor.invoke("testkit", "caller", "call-worker", ["testkit", "callee", "add", "[10]"], idempotency_key="r")
        == result
    )
    assert executor.invoke("testkit", "callee", "add", [0]) == 10  # applied once
    rpc_keys = [e.idempotency_key for _, e in executor.oplog("testkit/callee") if e.kind == "invocation-started"]
    assert rpc_keys[0].startswith("rpc:")


def test_worker_to_worker_errors_reach_the_guest_as_values(executor: Executor) -> None:
    result = executor.invoke("testkit", "caller", "call-worker", ["testkit", "callee", "no-such-fn", "[]"])
    assert "no function 'no-such-fn'" in result["err"]


def test_atomic_region_entries_and_replay(executor: Executor, ledger: LedgerRegistry) -> None:
    assert executor.invoke("testkit", "w", "atomic-pair", ["t"]) == ["atomic-first", "atomic-second"]
    kinds = [e.kind for _, e in executor.oplog("testkit/w")]
    assert kinds.index("atomic-begin") < kinds.index("atomic-end")
    assert executor.restart_worker("testkit/w") == 1
    assert len(ledger.ledger.applied()) == 2


def test_durable_sleep_is_recorded_and_not_repeated_on_replay(executor: Executor) -> None:
    index = executor.invoke("testkit", "w", "nap", [50])
    entries = executor.oplog("testkit/w")
    sleeps = [e for _, e in entries if getattr(e, "function", None) == "sleep"]
    assert [e.kind for e in sleeps] == ["begin-remote-write", "host-call"]
    assert index == max(i for i, e in entries if e.kind == "host-call" and e.function != "oplog-index")
    executor.restart_worker("testkit/w")


def test_whoami_and_status(executor: Executor) -> None:
    assert executor.invoke("testkit", "me", "whoami", []) == "testkit/me"
    infos = {str(i.worker_id): i for i in executor.workers()}
    assert infos["testkit/me"].status is WorkerStatus.IDLE
    assert infos["testkit/me"].oplog_length == len(executor.oplog("testkit/me"))


def test_live_instances_are_bounded_and_suspended_workers_recover(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    with Executor.open(tmp_path / "golem.db", services=ledger, max_live_instances=2) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        for round_ in range(1, 3):
            for n in range(5):
                assert ex.invoke("testkit", f"w{n}", "add", [n]) == n * round_
                assert ex.live_instances() <= 2
        statuses = {str(i.worker_id): i.status for i in ex.workers()}
        assert list(statuses.values()).count(WorkerStatus.SUSPENDED) >= 3
        assert any(e.kind == "suspend" for _, e in ex.oplog("testkit/w0"))


def test_a_worker_calling_itself_is_a_call_cycle_refused_before_it_runs(executor: Executor) -> None:
    result = executor.invoke("testkit", "me", "call-worker", ["testkit", "me", "add", "[1]"])
    assert result["err"] == "call cycle: testkit/me -> testkit/me"
    assert executor.invoke("testkit", "me", "add", [0]) == 0  # add(1) never ran
