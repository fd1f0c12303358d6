"""The cross-worker checkers on real oplogs: hand-written histories in a MemoryOplogStore and a
SQLiteOplogStore file, each broken on purpose in one way and caught, clean ones passing; and a
real executor running the bank template, whose oplogs pass both checkers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import BANK

from golemsim import Executor, MemoryOplogStore, SQLiteOplogStore, WorkerId
from golemsim.core.oplog.entries import (
    BeginRemoteWrite,
    Create,
    ErrorRecorded,
    HostCall,
    Interrupt,
    InvocationCompleted,
    InvocationFailed,
    InvocationStarted,
    OplogEntry,
    PendingInvocation,
    PromiseCompleted,
)
from golemsim.core.oplog.snapshot import Snapshot
from golemsim.core.oplog.store import OplogStore
from golemsim.sim.call_checkers import nothing_stuck, worker_calls_agree

A, B, C = WorkerId("bank", "a"), WorkerId("bank", "b"), WorkerId("bank", "c")
NOW = 10_000


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OplogStore]:
    made: OplogStore = MemoryOplogStore() if request.param == "memory" else SQLiteOplogStore(tmp_path / "oplogs.db")
    yield made
    made.close()


def write(store: OplogStore, worker: WorkerId, *entries: OplogEntry) -> None:
    """The worker's whole oplog: a Create, then ``entries``."""
    store.append(worker, 1, [Create(worker.template, 1, "hash"), *entries])


def run(key: str, function: str, args: list[Any], *calls: OplogEntry, result: Any = None) -> list[OplogEntry]:
    """An invocation accepted, started, recording ``calls``, and completed with ``result``
    (left in flight when ``result`` is ...)."""
    entries: list[OplogEntry] = [PendingInvocation(key, function, args), InvocationStarted(key, function, args)]
    entries.extend(calls)
    if result is not ...:
        entries.append(InvocationCompleted(key, result, 0))
    return entries


def call(target: WorkerId, key: str, response: Any = ..., function: str = "deposit", args: Any = (30,)) -> list[Any]:
    """An invoke-worker call: its begin marker, and its answer unless ``response`` is ... (still open)."""
    request = {"template": target.template, "name": target.name, "function": function, "args": list(args), "key": key}
    entries: list[OplogEntry] = [BeginRemoteWrite("invoke-worker", request)]
    if response is not ...:
        entries.append(HostCall("invoke-worker", request, response))
    return entries


def transfer(key: str, target: WorkerId, rpc: str, response: Any) -> list[OplogEntry]:
    """A transfer on the caller: one call to ``target`` answered with ``response``."""
    return run(key, "transfer", [target.name, 30, 0], *call(target, rpc, response), result={"ok": 70})


def deposit(rpc: str, result: Any = 30) -> list[OplogEntry]:
    return run(rpc, "deposit", [30], result=result)


# --- worker-calls-agree-with-targets ------------------------------------------------------------


def test_calls_that_agree_with_their_targets_pass(store: OplogStore) -> None:
    write(
        store,
        A,
        *transfer("t1", B, "rpc:1", {"ok": 30}),
        *transfer("t2", C, "rpc:2", {"err": {"rejected": "invalid worker name"}}),
        *transfer("t3", B, "rpc:3", {"err": {"unavailable": "node down"}}),
        *transfer("t4", B, "rpc:4", {"err": {"rejected": "trapped"}}),
    )
    failed = [PendingInvocation("rpc:4", "deposit", [30]), InvocationStarted("rpc:4", "deposit", [30])]
    write(store, B, *deposit("rpc:1"), *failed, InvocationFailed("rpc:4", "trap", 0))  # rpc:3 never arrived
    verdict = worker_calls_agree(store)
    assert verdict.valid, verdict.counterexamples
    assert (verdict.name, verdict.checked) == ("worker-calls-agree-with-targets", 4)
    assert verdict.note == "4 calls: 1 ok, 2 rejected, 1 unavailable"


def test_an_ok_answer_the_target_never_completed_is_caught(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    write(store, B, PendingInvocation("rpc:1", "deposit", [30]))  # accepted, never run
    verdict = worker_calls_agree(store)
    assert not verdict.valid and verdict.failures == 1
    assert verdict.counterexamples == [
        {
            "caller": "bank/a",
            "index": 5,
            "target": "bank/b",
            "key": "rpc:1",
            "function": "deposit",
            "caller_recorded": {"ok": 30},
            "target_did": "holds it pending, not started",
            "problem": "answered ok, but the target did not complete the call",
        }
    ]


def test_an_ok_answer_from_a_target_without_an_oplog_is_caught(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    verdict = worker_calls_agree(store)
    assert not verdict.valid
    assert verdict.counterexamples[0]["target_did"] == "the target has no oplog"


def test_a_rejected_answer_whose_target_ran_the_call_is_caught(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"err": {"rejected": "refused"}}))
    write(store, B, *deposit("rpc:1"))
    verdict = worker_calls_agree(store)
    assert not verdict.valid
    example = verdict.counterexamples[0]
    assert example["problem"] == "rejected, but the target completed the call (its effects stand)"
    assert example["target_did"] == "completed it with result 30"


def test_a_rejected_answer_whose_target_still_holds_the_call_is_caught(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"err": {"rejected": "refused"}}))
    write(store, B, PendingInvocation("rpc:1", "deposit", [30]))
    verdict = worker_calls_agree(store)
    assert [e["problem"] for e in verdict.counterexamples] == [
        "rejected, but the target holds the call pending: it may still run"
    ]


def test_a_result_that_differs_from_the_targets_is_caught(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    write(store, B, *deposit("rpc:1", result=60))
    verdict = worker_calls_agree(store)
    assert not verdict.valid
    example = verdict.counterexamples[0]
    assert example["problem"] == "the caller's answer differs from the target's result"
    assert (example["caller_recorded"], example["target_did"]) == ({"ok": 30}, "completed it with result 60")


def test_a_key_run_twice_is_caught_even_when_the_answers_agree(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    twice = [InvocationStarted("rpc:1", "deposit", [30]), InvocationCompleted("rpc:1", 30, 0)]
    write(store, B, *deposit("rpc:1"), *twice, *run("other", "deposit", [1], result=61))
    verdict = worker_calls_agree(store)
    assert not verdict.valid
    assert verdict.counterexamples == [
        {"target": "bank/b", "key": "rpc:1", "problem": "the key ran more than once", "started": 2, "outcomes": 2}
    ]


def test_a_second_outcome_for_one_start_is_caught(store: OplogStore) -> None:
    write(store, B, *deposit("k1"), InvocationCompleted("k1", 30, 0))
    verdict = worker_calls_agree(store)
    assert [(e["key"], e["started"], e["outcomes"]) for e in verdict.counterexamples] == [("k1", 1, 2)]


def test_a_target_compacted_into_the_archive_is_read_whole(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    write(store, B, *deposit("rpc:1"), *deposit("rpc:2"))
    store.put_snapshot(B, Snapshot(index=5, template_version=1, component_hash="hash", data=b"state"))
    store.compact(B, 5, archive=True)
    assert store.first_index(B) == 6
    assert worker_calls_agree(store).valid
    store.append(B, 8, [InvocationStarted("rpc:1", "deposit", [30])])  # runs the archived key again
    verdict = worker_calls_agree(store)
    assert [(e["key"], e["started"]) for e in verdict.counterexamples] == [("rpc:1", 2)]


def test_an_answer_whose_target_entries_were_dropped_is_noted_not_failed(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    write(store, B, *deposit("rpc:1"), *deposit("rpc:2"))
    store.put_snapshot(B, Snapshot(index=5, template_version=1, component_hash="hash", data=b"state"))
    store.compact(B, 5, archive=False)
    verdict = worker_calls_agree(store)
    assert verdict.valid
    assert (
        verdict.note
        == "1 call: 1 ok, 0 rejected, 0 unavailable; 1 ok not verifiable (the target's compaction dropped its outcome)"
    )


# --- no-invocation-stuck ------------------------------------------------------------------------


def test_finished_workers_have_nothing_stuck(store: OplogStore) -> None:
    write(store, A, *transfer("t1", B, "rpc:1", {"ok": 30}))
    write(store, B, *deposit("rpc:1"))
    verdict = nothing_stuck(store, NOW)
    assert verdict.valid and (verdict.name, verdict.checked) == ("no-invocation-stuck", 2)
    assert verdict.note == "explained: nothing open"


def test_every_explained_wait_passes_and_is_counted(store: OplogStore) -> None:
    sleeping = BeginRemoteWrite("sleep", {"millis": 5_000}, at_ms=NOW - 1_000)  # due at NOW + 4000
    write(store, A, *run("s1", "transfer", ["b", 30, 5000], sleeping, result=...))
    promise = "bank/p/promise-1"
    awaiting = [HostCall("create-promise", None, promise), BeginRemoteWrite("await-promise", {"promise_id": promise})]
    write(store, WorkerId("bank", "p"), *run("w1", "wait", [], *awaiting, result=...))
    write(store, WorkerId("bank", "s"), PendingInvocation("later", "deposit", [1], due_ms=NOW + 1))
    write(store, WorkerId("bank", "i"), PendingInvocation("held", "deposit", [1]), Interrupt())
    broken = [*run("f1", "deposit", [1], result=...), ErrorRecorded("trap in replay", transient=False)]
    write(store, WorkerId("bank", "f"), *broken, PendingInvocation("f2", "deposit", [2]))
    # c waits on b, b queues c's call behind a transfer waiting on a, a sleeps: explained, all along the chain.
    write(store, C, *run("c1", "transfer", ["b", 30, 0], *call(B, "rpc:c"), result=...))
    write(store, B, *run("b1", "transfer", ["a", 30, 0], *call(A, "rpc:b"), result=...))
    store.append(B, store.length(B) + 1, [PendingInvocation("rpc:c", "deposit", [30])])
    store.append(A, store.length(A) + 1, [PendingInvocation("rpc:b", "deposit", [30])])
    verdict = nothing_stuck(store, NOW)
    assert verdict.valid, verdict.counterexamples
    assert verdict.note == (
        "explained: durable sleep due after the end: 1; promise not completed: 1; "
        "scheduled invocation due after the end: 1; operator interrupt: 1; worker failed: 2; "
        "waiting on a call whose target is explained: 2; queued behind an explained invocation: 2; "
        "failed workers: bank/f (trap in replay)"
    )


def test_an_invocation_in_flight_with_no_reason_is_caught(store: OplogStore) -> None:
    crashed = run("k1", "transfer", ["b", 30, 0], HostCall("random.bytes", 8, "00"), result=...)
    write(store, A, *crashed, PendingInvocation("k2", "deposit", [5]))
    verdict = nothing_stuck(store, NOW)
    assert not verdict.valid and verdict.failures == 2
    assert verdict.counterexamples == [
        {
            "worker": "bank/a",
            "key": "k1",
            "function": "transfer",
            "state": "in flight",
            "problem": "in flight and waiting on nothing",
            "last_entry": '5 pending-invocation idempotency_key="k2" function="deposit" args=[5] due_ms=null',
        },
        {
            "worker": "bank/a",
            "key": "k2",
            "function": "deposit",
            "state": "pending",
            "problem": "queued behind k1, which is stuck: in flight and waiting on nothing",
            "last_entry": '5 pending-invocation idempotency_key="k2" function="deposit" args=[5] due_ms=null',
        },
    ]


def test_a_due_pending_invocation_nobody_runs_is_caught(store: OplogStore) -> None:
    write(store, A, *deposit("k0"), PendingInvocation("k1", "deposit", [5], due_ms=NOW))  # due at the end: late
    verdict = nothing_stuck(store, NOW)
    assert [(e["key"], e["state"], e["problem"]) for e in verdict.counterexamples] == [
        ("k1", "pending", "pending and due, but nothing runs")
    ]


def test_a_sleep_past_due_and_a_completed_promise_are_not_reasons(store: OplogStore) -> None:
    write(store, A, *run("s1", "nap", [], BeginRemoteWrite("sleep", {"millis": 100}, at_ms=NOW - 100), result=...))
    promise = "bank/b/promise-1"
    awaiting = [HostCall("create-promise", None, promise), BeginRemoteWrite("await-promise", {"promise_id": promise})]
    write(store, B, *run("w1", "wait", [], *awaiting, result=...))
    store.append(B, store.length(B) + 1, [PromiseCompleted(promise, 7)])
    verdict = nothing_stuck(store, NOW)
    assert [e["problem"] for e in verdict.counterexamples] == [
        f"its sleep was due at {NOW} ms, before the end ({NOW} ms)",
        f"awaits promise {promise}, which was completed: it should have woken",
    ]


def test_a_caller_not_woken_by_an_answer_is_caught(store: OplogStore) -> None:
    write(store, A, *run("t1", "transfer", ["b", 30, 0], *call(B, "rpc:1"), result=...))
    write(store, B, *deposit("rpc:1"))
    verdict = nothing_stuck(store, NOW)
    assert [e["problem"] for e in verdict.counterexamples] == [
        "waits on bank/b for rpc:1: the target completed it: the caller should have woken"
    ]


def test_a_call_lost_on_the_way_and_a_call_cycle_are_caught(store: OplogStore) -> None:
    write(store, C, *run("c1", "transfer", ["x", 30, 0], *call(WorkerId("bank", "x"), "rpc:lost"), result=...))
    write(store, A, *run("a1", "transfer", ["b", 30, 0], *call(B, "rpc:ab"), result=...))
    write(store, B, *run("b1", "transfer", ["a", 30, 0], *call(A, "rpc:ba"), result=...))
    store.append(A, store.length(A) + 1, [PendingInvocation("rpc:ba", "deposit", [30])])
    store.append(B, store.length(B) + 1, [PendingInvocation("rpc:ab", "deposit", [30])])
    verdict = nothing_stuck(store, NOW)
    problems = {(e["worker"], e["key"]): e["problem"] for e in verdict.counterexamples}
    assert problems[("bank/c", "c1")] == "waits on bank/x for rpc:lost: the target has no oplog"
    assert "a call cycle nothing breaks: bank/a -> bank/b -> bank/a" in problems[("bank/a", "a1")]
    assert verdict.failures == 5  # c1; a1 and b1 in flight; rpc:ba and rpc:ab queued behind them


# --- a real executor ------------------------------------------------------------------------------


def test_a_real_bank_transfer_passes_both_checkers(tmp_path: Path) -> None:
    ex = Executor.open(tmp_path / "golem.db")
    try:
        ex.deploy(BANK)
        ex.invoke("bank", "a", "deposit", [100])
        assert ex.invoke("bank", "a", "transfer", ["b", 30, 0]) == {"ok": 70}
        assert ex.invoke("bank", "a", "transfer", ["x/y", 5, 0])["err"].startswith("transfer to x/y refused")
        agree = worker_calls_agree(ex.oplogs)
        assert agree.valid, agree.counterexamples
        assert agree.note == "2 calls: 1 ok, 1 rejected, 0 unavailable"
        stuck = nothing_stuck(ex.oplogs, ex.environment.wall_clock_ns() // 1_000_000)
        assert stuck.valid and stuck.checked == 2, stuck.counterexamples
    finally:
        ex.close()
