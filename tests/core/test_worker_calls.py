"""Worker-to-worker calls on the real executor: exactly once, never refused after the target may
have accepted them, call cycles refused at once, long waits parked, logs printed once.

Real bank and testkit components in wasmtime, real SQLite oplogs in tmp_path.
"""

from __future__ import annotations

import logging
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from support import BANK, CHILDREN, wait_for, worker_status

from golemsim import Executor, WorkerStatus
from golemsim.core.oplog.entries import HostCall
from golemsim.sim import call_checkers

BANK_CHILD = CHILDREN / "bank_child.py"


def open_bank(db: Path, **options: Any) -> Executor:
    ex = Executor.open(db, suspend_after=0.2, **options)
    if not ex.list_templates():
        ex.deploy(BANK)
    return ex


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Executor]:
    ex = open_bank(tmp_path / "golem.db")
    yield ex
    ex.close()


def state(ex: Executor, name: str) -> dict[str, int]:
    result: dict[str, int] = ex.invoke("bank", name, "state", [])
    return result


def money(ex: Executor, *names: str) -> int:
    return sum(state(ex, n)["balance"] + state(ex, n)["in-doubt"] for n in names)


def open_accounts(ex: Executor, *names: str, balance: int = 100) -> None:
    for name in names:
        ex.invoke("bank", name, "deposit", [balance], idempotency_key=f"open-{name}")


def assert_calls_verified(ex: Executor) -> None:
    """The cross-worker checkers over the executor's real oplogs: every answer a caller
    recorded agrees with its target, no key ran twice, nothing is left open without a reason."""
    agree = call_checkers.worker_calls_agree(ex.oplogs)
    assert agree.valid, agree.counterexamples
    stuck = call_checkers.nothing_stuck(ex.oplogs, int(time.time() * 1000))
    assert stuck.valid, stuck.counterexamples


def answers(ex: Executor, worker: str) -> list[Any]:
    """The invoke-worker answers a worker's oplog recorded, in order."""
    return [e.response for _, e in ex.oplog(worker) if isinstance(e, HostCall) and e.function == "invoke-worker"]


def test_two_accounts_paying_each_other_at_once_do_not_hang(bank: Executor) -> None:
    open_accounts(bank, "a", "b")
    # Both withdraw, sleep 300 ms, then call the other's deposit: each call would wait in the
    # other's queue behind the transfer that waits for it. The second call closes the cycle.
    a_to_b: Future[Any] = bank.submit("bank", "a", "transfer", ["b", 30, 300], idempotency_key="ab")
    b_to_a: Future[Any] = bank.submit("bank", "b", "transfer", ["a", 20, 300], idempotency_key="ba")
    results = sorted([a_to_b.result(timeout=30), b_to_a.result(timeout=30)], key=str)
    refused = [r for r in results if "err" in r]
    assert len(refused) == 1, results
    assert "refused: call cycle: bank/" in refused[0]["err"]
    assert money(bank, "a", "b") == 200
    # The refused side paid its money back; the other side's deposit ran exactly once.
    assert sorted(state(bank, n)["refunds"] for n in "ab") == [0, 1]
    assert sorted(state(bank, n)["transfers-out"] for n in "ab") == [0, 1]
    assert_calls_verified(bank)


def test_a_three_account_cycle_is_refused_once_and_the_rest_completes(bank: Executor) -> None:
    open_accounts(bank, "a", "b", "c")
    futures = [
        bank.submit("bank", src, "transfer", [dst, 10, 300], idempotency_key=f"{src}{dst}")
        for src, dst in (("a", "b"), ("b", "c"), ("c", "a"))
    ]
    results = [f.result(timeout=30) for f in futures]
    refused = [r for r in results if "err" in r]
    assert len(refused) == 1, results
    cycle = refused[0]["err"].split("call cycle: ", 1)[1]
    assert len(cycle.split(" -> ")) == 4  # e.g. bank/c -> bank/a -> bank/b -> bank/c
    assert money(bank, "a", "b", "c") == 300
    assert_calls_verified(bank)


def test_a_refused_call_never_runs_on_its_target(bank: Executor) -> None:
    open_accounts(bank, "a", "b")
    a_to_b = bank.submit("bank", "a", "transfer", ["b", 30, 300], idempotency_key="ab")
    b_to_a = bank.submit("bank", "b", "transfer", ["a", 20, 300], idempotency_key="ba")
    a_to_b.result(timeout=30), b_to_a.result(timeout=30)
    for caller, target in (("a", "b"), ("b", "a")):
        (answer,) = answers(bank, f"bank/{caller}")
        keys = {e.idempotency_key for _, e in bank.oplog(f"bank/{target}") if e.kind == "pending-invocation"}
        call_keys = {
            e.request["key"]
            for _, e in bank.oplog(f"bank/{caller}")
            if e.kind == "begin-remote-write" and e.function == "invoke-worker"
        }
        if "rejected" in answer.get("err", {}):
            assert not keys & call_keys  # never even queued at the target
        else:
            assert call_keys <= keys


def test_a_long_wait_for_a_busy_target_parks_the_caller_and_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "golem.db"
    with open_bank(db) as ex:
        open_accounts(ex, "a", "b")
        # b is busy for 1.5 s (a durable sleep inside its transfer to c, a new account); a's
        # deposit on b waits behind it.
        ex.submit("bank", "b", "transfer", ["c", 5, 1500], idempotency_key="bc")
        wait_for(lambda: worker_status(ex, "bank/b") == WorkerStatus.WAITING)
        ex.submit("bank", "a", "transfer", ["b", 10, 0], idempotency_key="ab")
        # Past suspend_after (0.2 s) neither the sleeper nor the caller holds an instance.
        wait_for(lambda: ex.live_instances() == 0, timeout=1.2)
        assert worker_status(ex, "bank/a") == WorkerStatus.WAITING
    with open_bank(db) as ex:
        assert worker_status(ex, "bank/a") == WorkerStatus.WAITING
        assert ex.invoke("bank", "a", "transfer", ["b", 10, 0], idempotency_key="ab", timeout=20) == {"ok": 90}
        assert ex.invoke("bank", "b", "transfer", ["c", 5, 1500], idempotency_key="bc", timeout=20) == {"ok": 95}
        assert [state(ex, n)["balance"] for n in "abc"] == [90, 105, 5]
        assert answers(ex, "bank/a") == [{"ok": 105}]  # one answer, recorded once across the restart
        assert_calls_verified(ex)


def test_a_wait_that_survives_a_restart_still_refuses_the_call_that_would_close_a_cycle(tmp_path: Path) -> None:
    db = tmp_path / "golem.db"
    with open_bank(db) as ex:
        open_accounts(ex, "b", "z")
        # b sleeps 1 s inside its transfer to z; z's transfer to b waits behind it, parked.
        ex.submit("bank", "b", "transfer", ["z", 20, 1000], idempotency_key="bz")
        wait_for(lambda: worker_status(ex, "bank/b") == WorkerStatus.WAITING)
        ex.submit("bank", "z", "transfer", ["b", 10, 0], idempotency_key="zb")
        wait_for(lambda: ex.live_instances() == 0, timeout=1.2)
    time.sleep(1.1)  # b's sleep ends while no executor runs: on reopen b calls z at once
    with open_bank(db) as ex:
        b_to_z = ex.invoke("bank", "b", "transfer", ["z", 20, 1000], idempotency_key="bz", timeout=20)
        z_to_b = ex.invoke("bank", "z", "transfer", ["b", 10, 0], idempotency_key="zb", timeout=20)
        # z's wait on b survived the restart, so b's call to z is the one that closes the cycle.
        assert b_to_z == {"err": "transfer to z refused: call cycle: bank/b -> bank/z -> bank/b"}
        assert z_to_b == {"ok": 90}
        assert [state(ex, n)["balance"] for n in "bz"] == [110, 90]
        assert_calls_verified(ex)


def test_a_call_with_no_such_function_is_rejected_and_the_money_comes_back(bank: Executor) -> None:
    open_accounts(bank, "a")
    result = bank.invoke("bank", "a", "chain", [["b"], 10, 0])
    assert result == {"ok": 90}  # a plain deposit on b
    assert "err" in bank.invoke("bank", "b", "chain", [["c", "d"], 500, 0])  # insufficient funds, nothing sent
    assert money(bank, "a", "b") == 100
    assert_calls_verified(bank)


def test_a_guest_log_is_printed_once_never_on_replay(
    tmp_path: Path, testkit_wasm: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "golem.db"
    caplog.set_level(logging.INFO, logger="golemsim")
    with Executor.open(db) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        assert ex.invoke("testkit", "me", "whoami") == "testkit/me"
        assert ex.restart_worker("testkit/me") == 1  # replays whoami
    with Executor.open(db) as ex:
        ex.restart_worker("testkit/me")
        assert ex.invoke("testkit", "me", "whoami") == "testkit/me"  # runs again, so logs again
    logged = [r.getMessage() for r in caplog.records if "I am testkit/me" in r.getMessage()]
    assert logged == ["[testkit/me] I am testkit/me"] * 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", [13, 14, 15])
def test_bank_transfers_under_sigkill_at_random_instants_conserve_money(tmp_path: Path, seed: int) -> None:
    """Kill a real executor running 60 concurrent transfers between 5 accounts at random
    instants, restart it each time, until every transfer has an answer. Money is conserved,
    every recorded answer agrees with its target, nothing is left open."""
    db, accounts, count = tmp_path / "golem.db", 5, 60
    rng = random.Random(seed)
    kills, cycles, acked = 0, 0, set()
    for _ in range(30):
        child = subprocess.Popen(
            [sys.executable, str(BANK_CHILD), str(db), str(accounts), str(count), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        kill_after = rng.randint(1, 10) if kills < 8 else count  # new answers before the kill
        fresh = 0
        for line in child.stdout:
            key = line.split()[1]
            cycles += "call cycle" in line
            fresh += key not in acked
            acked.add(key)
            if fresh >= kill_after:
                time.sleep(rng.uniform(0, 0.05))
                child.send_signal(signal.SIGKILL)
                kills += 1
                break
        _, err = child.communicate(timeout=180)
        if child.returncode == 0:
            break
        assert child.returncode == -signal.SIGKILL, err
    assert len(acked) == count and kills >= 3
    assert cycles > 0  # the workload does close call cycles (refused, the money paid back)
    with Executor.open(db, resume=False, exclusive=False) as ex:
        names = [f"acct-{i}" for i in range(accounts)]
        states = [state(ex, n) for n in names]
        assert sum(s["balance"] + s["in-doubt"] for s in states) == 100 * accounts
        assert all(s["in-doubt"] == 0 for s in states)  # the real executor never answers "unavailable"
        assert_calls_verified(ex)
