"""Record and replay with real components: clocks, randomness and external calls."""

from __future__ import annotations

from pathlib import Path

from golemsim import Executor, LedgerRegistry


def test_replay_gives_identical_results_and_calls_no_service_again(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path
) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db, services=ledger) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        stamp = ex.invoke("testkit", "w", "stamp", [], idempotency_key="s1")
        calls = ex.invoke("testkit", "w", "two-calls", ["t"], idempotency_key="c1")
        total = ex.invoke("testkit", "w", "add", [7])
    assert calls == {"ok": ["first", "second"]}
    assert set(stamp) == {"wall-ns", "monotonic-ns", "random"}
    requests_before = ledger.ledger.received()
    assert len(requests_before) == 2

    with Executor.open(db, services=ledger) as ex:
        # A fresh instance replays the three invocations; replay checks each result against the oplog.
        assert ex.restart_worker("testkit/w") == 3
        assert ex.invoke("testkit", "w", "add", [1]) == total + 1
        # The same keys return the recorded values, including the clock and the random number.
        assert ex.invoke("testkit", "w", "stamp", [], idempotency_key="s1") == stamp
        assert ex.invoke("testkit", "w", "two-calls", ["t"], idempotency_key="c1") == calls
    assert ledger.ledger.received() == requests_before


def test_clock_and_random_are_recorded_in_the_oplog(executor: Executor) -> None:
    stamp = executor.invoke("testkit", "w", "stamp", [])
    calls = {entry.function: entry.response for _, entry in executor.oplog("testkit/w") if entry.kind == "host-call"}
    assert calls["wall-clock.now"] == stamp["wall-ns"]
    assert calls["monotonic-clock.now"] == stamp["monotonic-ns"]
    assert "random.bytes" in calls


def test_replay_after_restart_keeps_state(executor: Executor) -> None:
    for n in range(1, 6):
        executor.invoke("testkit", "w", "add", [n])
    assert executor.restart_worker("testkit/w") == 5
    assert executor.invoke("testkit", "w", "add", [0]) == 15
