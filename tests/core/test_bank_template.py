"""The bank template: deposits, withdrawals, transfers and chains between real accounts.

Real builds, real wasmtime, real SQLite oplogs in tmp_path; its HTTP API through the real gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import BANK, TEMPLATES

from golemsim import Executor, Gateway, Request
from golemsim.core.oplog.entries import HostCall
from golemsim.gateway import load_api_definition
from golemsim.gateway.gateway import ExecutorBackend


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Executor]:
    ex = Executor.open(tmp_path / "golem.db")
    ex.deploy(BANK)
    yield ex
    ex.close()


def call(ex: Executor, account: str, function: str, *args: Any) -> Any:
    return ex.invoke("bank", account, function, list(args))


def account(balance: int, in_doubt: int = 0, transfers_out: int = 0, refunds: int = 0) -> dict[str, int]:
    return {"balance": balance, "in-doubt": in_doubt, "transfers-out": transfers_out, "refunds": refunds}


def total(ex: Executor, *accounts: str) -> int:
    states = [call(ex, name, "state") for name in accounts]
    return sum(state["balance"] + state["in-doubt"] for state in states)


def test_deposit_and_withdraw_keep_the_balance(bank: Executor) -> None:
    assert call(bank, "a", "state") == account(0)
    assert call(bank, "a", "deposit", 100) == 100
    assert call(bank, "a", "deposit", 20) == 120
    assert call(bank, "a", "withdraw", 50) == {"ok": 70}
    assert call(bank, "a", "withdraw", 71) == {"err": "insufficient funds: the balance is 70, 71 asked"}
    assert call(bank, "a", "state") == account(70)


def test_transfers_between_two_accounts_conserve_the_total(bank: Executor) -> None:
    call(bank, "a", "deposit", 100)
    call(bank, "b", "deposit", 50)
    assert call(bank, "a", "transfer", "b", 30, 0) == {"ok": 70}
    assert call(bank, "b", "transfer", "a", 80, 5) == {"ok": 0}  # after a durable 5 ms sleep
    assert call(bank, "b", "transfer", "a", 1, 0) == {"err": "insufficient funds: the balance is 0, 1 asked"}
    assert call(bank, "a", "state") == account(150, transfers_out=1)
    assert call(bank, "b", "state") == account(0, transfers_out=1)
    assert total(bank, "a", "b") == 150
    # A transfer is one invoke-worker call in the sender's oplog, answered with b's new balance.
    answers = [e.response for _, e in bank.oplog("bank/a") if isinstance(e, HostCall) and e.function == "invoke-worker"]
    assert answers == [{"ok": 80}]


def test_a_refused_transfer_pays_the_money_back(bank: Executor) -> None:
    call(bank, "a", "deposit", 100)
    # No account can be named "x/y": the call is refused before it is delivered.
    answer = call(bank, "a", "transfer", "x/y", 40, 0)
    assert answer["err"].startswith("transfer to x/y refused: invalid worker name 'x/y'")
    assert call(bank, "a", "state") == account(100, refunds=1)
    assert [w.worker_id.name for w in bank.workers()] == ["a"]


def test_a_chain_passes_the_money_along_the_path(bank: Executor) -> None:
    for name in ("a", "b", "c"):
        call(bank, name, "deposit", 100)
    assert call(bank, "a", "chain", ["b", "c", "d"], 10, 0) == {"ok": 90}
    # b and c each passed 10 on and were paid back; d got it.
    assert call(bank, "b", "state") == account(100, transfers_out=1)
    assert call(bank, "c", "state") == account(100, transfers_out=1)
    assert call(bank, "d", "state") == account(10)
    assert total(bank, "a", "b", "c", "d") == 300


def test_a_chain_that_fails_down_the_path_unwinds_every_account(bank: Executor) -> None:
    call(bank, "a", "deposit", 100)
    call(bank, "b", "deposit", 100)
    # c has nothing to pass on: its chain refuses, so b and then a take their amounts back.
    answer = call(bank, "a", "chain", ["b", "c", "d"], 10, 0)
    assert answer == {"err": "chain via b refused: chain via c refused: insufficient funds: the balance is 0, 10 asked"}
    assert call(bank, "a", "state") == account(100, refunds=1)
    assert call(bank, "b", "state") == account(100, refunds=1)
    assert call(bank, "c", "state") == account(0)
    assert "bank/d" not in {str(w.worker_id) for w in bank.workers()}
    assert total(bank, "a", "b", "c") == 200


def test_the_http_api_deposits_transfers_and_reads(bank: Executor) -> None:
    gateway = Gateway(load_api_definition(TEMPLATES / "bank.api.yaml"), ExecutorBackend(bank))
    deposit = gateway.handle(Request.json("POST", "/accounts/a/deposit", {"amount": 100}))
    assert (deposit.status, deposit.body) == (200, 100)
    sent = gateway.handle(Request.json("POST", "/accounts/a/transfers", {"to": "b", "amount": 25}))
    assert (sent.status, sent.body) == (200, 75)  # delay-ms defaults to 0
    short = gateway.handle(Request.json("POST", "/accounts/b/transfers", {"to": "a", "amount": 26, "delay-ms": 1}))
    assert short.status == 409
    assert gateway.handle(Request("GET", "/accounts/b")).body == account(25)
