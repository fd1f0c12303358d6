"""The auction template: real build, real wasmtime, real SQLite, the shop's real payment ledger."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from golemsim import Executor, RetryPolicy
from golemsim.shop import ShopServices

HOUR_MS = 3_600_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def services(tmp_path: Path) -> Iterator[ShopServices]:
    shop_services = ShopServices(tmp_path / "shop.db")
    yield shop_services
    shop_services.close()


@pytest.fixture
def shop(tmp_path: Path, services: ShopServices, auction_wasm: Path) -> Iterator[Executor]:
    ex = Executor.open(tmp_path / "golem.db", services=services)
    ex.deploy(auction_wasm, name="auction")
    yield ex
    ex.close()


def caller(ex: Executor, name: str = "a1") -> Callable[..., Any]:
    """`call("bid", "alice", 100)` invokes a function of auction worker `name`."""

    def call(function: str, *args: Any) -> Any:
        return ex.invoke("auction", name, function, list(args))

    return call


def charges(services: ShopServices) -> list[dict[str, Any]]:
    return services.effects("payment", "charge")


def close_started_at(ex: Executor) -> list[int]:
    """When each run of close-auction on worker a1 started (the oplog's wall clock, ms)."""
    return [
        entry.at_ms
        for _, entry in ex.oplog("auction/a1")
        if entry.kind == "invocation-started" and getattr(entry, "function", None) == "close-auction"
    ]


def wait_until_closed(call: Callable[..., Any], deadline_s: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        status: dict[str, Any] = call("status")
        if status["state"] == "closed":
            return status
        time.sleep(0.1)
    raise AssertionError(f"the auction did not close within {deadline_s} s: {status}")


def test_create_bid_status_and_bids(shop: Executor, services: ShopServices) -> None:
    call = caller(shop)
    assert call("status") == {
        "item": "",
        "state": "not-created",
        "reserve-price-cents": 0,
        "closes-at-ms": 0,
        "highest-bid": None,
        "winner": None,
        "charge-id": None,
        "settlement": None,
    }
    assert call("bid", "alice", 100) == {"err": "not-open"}
    closes_at = now_ms() + HOUR_MS
    assert call("create", "lamp", 5000, closes_at) == {"ok": None}
    assert call("create", "lamp", 5000, closes_at) == {"err": "already-created"}

    before = now_ms()
    assert call("bid", "alice", 4000) == {"ok": None}
    assert call("bid", "bob", 6000) == {"ok": None}
    assert call("bid", "alice", 6500) == {"ok": None}
    bids = call("bids")
    assert [(b["bidder"], b["amount-cents"]) for b in bids] == [("alice", 4000), ("bob", 6000), ("alice", 6500)]
    assert all(before <= b["at-ms"] <= now_ms() for b in bids)
    assert call("status") == {
        "item": "lamp",
        "state": "open",
        "reserve-price-cents": 5000,
        "closes-at-ms": closes_at,
        "highest-bid": bids[-1],
        "winner": None,
        "charge-id": None,
        "settlement": None,
    }
    assert charges(services) == []


def test_low_late_duplicate_and_closed_bids_are_refused_with_their_error(shop: Executor) -> None:
    call = caller(shop)
    call("create", "lamp", 5000, now_ms() + HOUR_MS)
    assert call("bid", "bob", 0) == {"err": {"too-low": 1}}
    assert call("bid", "alice", 4000) == {"ok": None}
    assert call("bid", "alice", 4000) == {"err": "duplicate"}  # a retry without its key: the bid is in
    assert call("bid", "bob", 4000) == {"err": {"too-low": 4001}}
    assert call("bid", "bob", 3000) == {"err": {"too-low": 4001}}
    assert call("bid", "bob", 4001) == {"ok": None}
    assert call("bid", "alice", 4000) == {"err": "duplicate"}
    assert [b["amount-cents"] for b in call("bids")] == [4000, 4001]

    assert call("close-auction")["ok"]["settlement"] == "no-winner"  # the seller ends it early
    assert call("bid", "carol", 9000) == {"err": "not-open"}

    late = caller(shop, "a2")
    late("create", "vase", 100, now_ms() - 1)  # the closing time has already passed
    assert late("bid", "alice", 500) == {"err": "too-late"}
    assert late("bids") == []


def test_close_charges_the_winner_once(shop: Executor, services: ShopServices) -> None:
    call = caller(shop)
    call("create", "lamp", 5000, now_ms() + HOUR_MS)
    call("bid", "alice", 4000)
    call("bid", "bob", 6000)
    outcome = call("close-auction")
    [charge] = charges(services)
    assert charge["payload"] == {
        "payment_method": "account:bob",
        "amount_cents": 6000,
        "currency": "USD",
        "reference": "auction/a1",
    }
    charge_id = charge["answer"]["charge_id"]
    winner = call("bids")[1]
    assert outcome == {"ok": {"winner": winner, "settlement": {"charged": charge_id}}}

    assert call("close-auction") == outcome  # closing twice: the same outcome, no new charge
    assert len(services.requests("payment")) == 1  # not even a repeat was sent
    status = call("status")
    assert (status["state"], status["winner"], status["charge-id"]) == ("closed", winner, charge_id)
    assert status["settlement"] == {"charged": charge_id}


def test_reserve_not_met_means_no_winner_and_no_charge(shop: Executor, services: ShopServices) -> None:
    call = caller(shop)
    call("create", "lamp", 5000, now_ms() + HOUR_MS)
    call("bid", "alice", 4999)
    assert call("close-auction") == {"ok": {"winner": None, "settlement": "no-winner"}}
    status = call("status")
    assert status["state"] == "closed"
    assert status["highest-bid"]["amount-cents"] == 4999
    assert (status["winner"], status["charge-id"], status["settlement"]) == (None, None, "no-winner")
    assert charges(services) == []


def test_a_declined_charge_closes_the_auction_without_a_charge_id(shop: Executor, services: ShopServices) -> None:
    call = caller(shop)
    call("create", "lamp", 100, now_ms() + HOUR_MS)
    call("bid", "alice", 500)
    services.failures.decline_payments = True
    outcome = call("close-auction")["ok"]
    assert outcome["winner"]["bidder"] == "alice"
    assert outcome["settlement"]["payment-declined"].startswith("declined")
    services.failures.decline_payments = False
    assert call("close-auction") == {"ok": outcome}  # the outcome is final: the charge is not tried again
    status = call("status")
    assert (status["state"], status["charge-id"], status["settlement"]) == ("closed", None, outcome["settlement"])
    assert charges(services) == []
    [refused] = services.requests("payment", "charge")
    assert (refused["outcome"], refused["payload"]["payment_method"]) == ("rejected", "account:alice")


def test_an_unreachable_payment_service_leaves_the_auction_to_be_closed_again_with_the_same_key(
    tmp_path: Path, services: ShopServices, auction_wasm: Path
) -> None:
    ex = Executor.open(tmp_path / "golem.db", services=services)
    try:
        ex.deploy(auction_wasm, name="auction", retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
        call = caller(ex)
        call("create", "lamp", 100, now_ms() + HOUR_MS)
        call("bid", "alice", 500)
        services.failures.timeouts["payment"] = 2  # applied, then "timed out", twice: the retries give up
        assert "unavailable" in call("close-auction")["err"]
        assert call("status")["state"] == "open"
        assert len(ex.scheduled()) == 2  # the closing timer, and a retry of close-auction a minute later
        [applied] = charges(services)  # the charge went through although the worker never heard so

        outcome = call("close-auction")  # the same key again: the ledger answers with the first charge
        assert outcome["ok"]["settlement"] == {"charged": applied["answer"]["charge_id"]}
        assert charges(services) == [applied]
        assert len({request["key"] for request in services.requests("payment")}) == 1
    finally:
        ex.close()


def test_the_timer_closes_the_auction_at_its_closing_time(shop: Executor, services: ShopServices) -> None:
    call = caller(shop)
    call("status")  # the worker is up (compiled, instantiated) before the clock starts to matter
    closes_at = now_ms() + 1500
    call("create", "lamp", 5000, closes_at)
    call("bid", "alice", 6000)
    status = wait_until_closed(call)
    [started] = close_started_at(shop)
    assert started >= closes_at  # on time, not early
    assert status["winner"]["bidder"] == "alice"
    [charge] = charges(services)
    assert status["charge-id"] == charge["answer"]["charge_id"]
    assert call("bid", "bob", 7000) == {"err": "too-late"}
    assert call("close-auction")["ok"]["settlement"] == {"charged": status["charge-id"]}
    assert len(charges(services)) == 1


def test_the_timer_fires_after_the_executor_is_restarted_before_the_closing_time(
    tmp_path: Path, auction_wasm: Path
) -> None:
    db = tmp_path / "golem.db"
    first_services = ShopServices(tmp_path / "shop.db")
    first = Executor.open(db, services=first_services)
    try:
        first.deploy(auction_wasm, name="auction")
        call = caller(first)
        call("status")
        closes_at = now_ms() + 2500
        call("create", "lamp", 5000, closes_at)
        call("bid", "alice", 6000)
    finally:
        first.close()
        first_services.close()
    assert now_ms() < closes_at, "the restart must happen while the timer is pending"

    services = ShopServices(tmp_path / "shop.db")
    second = Executor.open(db, services=services)
    try:
        pending = second.scheduled()  # the timer is armed again by opening the database
        assert now_ms() >= closes_at or [(w.template, w.name) for w, _ in pending] == [("auction", "a1")]
        status = wait_until_closed(caller(second))
        [started] = close_started_at(second)
        assert started >= closes_at
        assert status["winner"]["bidder"] == "alice"
        [charge] = charges(services)
        assert status["charge-id"] == charge["answer"]["charge_id"]
        assert charge["payload"]["reference"] == "auction/a1"
    finally:
        second.close()
        services.close()


def test_replay_reproduces_the_status_without_new_charges(shop: Executor, services: ShopServices) -> None:
    call = caller(shop)
    call("create", "lamp", 5000, now_ms() + HOUR_MS)
    call("bid", "alice", 5000)
    call("bid", "bob", 5000)
    call("bid", "bob", 5500)
    call("bid", "bob", 5500)
    outcome = call("close-auction")
    before = (call("status"), call("bids"))
    assert len(charges(services)) == 1

    assert shop.restart_worker("auction/a1") > 0
    assert (call("status"), call("bids")) == before
    assert call("close-auction") == outcome
    assert len(services.requests("payment")) == 1  # replay answered the charge from the oplog
