"""Each checker can fail: an untouched real run (or a well-formed hand-made ledger) is valid,
and a minimal counter-example (a tampered copy of it) is reported as invalid, naming what broke."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from support import failed, run

from golemsim.core.ids import WorkerId
from golemsim.core.oplog.memory_store import MemoryOplogStore
from golemsim.sim import call_checkers, checkers
from golemsim.sim.runner import RunResult
from golemsim.sim.services import ServiceRecord
from golemsim.sim.sim_environment import EPOCH_NS

COUNTERS = """
name: a few counters
app: counter
store: memory
seed: 3
cluster: {nodes: 2, shards: 4}
workload: {mode: closed, clients: 3, operations: 20, keys: 4}
"""

CHECKOUTS = """
name: a few checkouts
app: checkout
store: memory
seed: 4
cluster: {nodes: 3, shards: 6}
services: {latency: 0.01}
workload: {mode: closed, clients: 4, operations: 20, keys: 10}
"""

CARTS = """
name: a few carts
app: shopping-cart
store: memory
seed: 3
cluster: {nodes: 2, shards: 4}
workload: {mode: closed, clients: 3, operations: 30, keys: 3}
"""

BANKS = """
name: a few bank accounts, a node crashing
app: bank
store: memory
seed: 5
cluster: {nodes: 2, shards: 4}
workload: {mode: closed, clients: 4, operations: 60, keys: 5}
faults:
  - {at: 0.5, kind: crash, target: node-1, duration: 1}
"""


@pytest.fixture(scope="module")
def counters() -> RunResult:
    result = run(COUNTERS)
    assert result.valid, failed(result)
    return result


@pytest.fixture(scope="module")
def checkouts() -> RunResult:
    result = run(CHECKOUTS, templates=("checkout",))
    assert result.valid, failed(result)
    return result


@pytest.fixture(scope="module")
def banks() -> RunResult:
    result = run(BANKS, templates=("bank",))
    assert result.valid, failed(result)
    return result


@pytest.fixture(scope="module")
def carts() -> RunResult:
    result = run(CARTS, templates=("shopping-cart", "checkout"))
    assert result.valid, failed(result)
    return result


# --- no acknowledged invocation lost ----------------------------------------------------------


def test_an_acknowledged_operation_missing_from_the_oplog_is_reported(counters: RunResult) -> None:
    store = counters.cluster.storage.store
    untouched = checkers.no_acknowledged_invocation_lost(counters.history, store)
    assert untouched.valid and untouched.checked == 20

    real = next(op for op in counters.history if op.outcome == "ok")
    assert real.bound is not None
    ghost = dataclasses.replace(
        real,
        n=999,
        op=dataclasses.replace(real.op, key="ghost-op"),
        bound=dataclasses.replace(real.bound, key="ghost-op"),
    )
    verdict = checkers.no_acknowledged_invocation_lost([*counters.history, ghost], store)
    assert not verdict.valid and verdict.checked == 21
    assert verdict.counterexamples == [{"op": 999, "key": "ghost-op", "worker": str(real.bound.worker), "found": None}]

    # the same ghost, never acknowledged to its client, is nobody's loss
    timed_out = dataclasses.replace(ghost, outcome="timeout")
    assert checkers.no_acknowledged_invocation_lost([*counters.history, timed_out], store).valid


def test_a_dropped_oplog_loses_every_acknowledged_operation_of_its_worker() -> None:
    result = run(COUNTERS)  # its own run: this test deletes from the store
    store = result.cluster.storage.store
    assert checkers.no_acknowledged_invocation_lost(result.history, store).valid
    worker = WorkerId("counter", "c1")
    on_worker = [op.n for op in result.history if op.outcome == "ok" and op.bound and op.bound.worker == worker]
    assert on_worker, "the run sent nothing to c1"

    store.delete(worker)
    verdict = checkers.no_acknowledged_invocation_lost(result.history, store)
    assert not verdict.valid and verdict.checked == 20
    assert [e["op"] for e in verdict.counterexamples] == on_worker[: checkers.MAX_EXAMPLES]
    assert {(e["worker"], e["found"]) for e in verdict.counterexamples} == {("counter/c1", None)}


# --- effects at most once, exactly once when acknowledged ---------------------------------------


def record(
    seq: int, service: str, operation: str, key: str, payload: Any, answer: Any, outcome: str = "applied"
) -> ServiceRecord:
    return ServiceRecord(seq, seq / 10, service, operation, key, payload, outcome, answer)


def charge(seq: int, key: str, reference: str, charge_id: str, outcome: str = "applied") -> ServiceRecord:
    payload = {"payment_method": "card-ok", "amount_cents": 500, "currency": "EUR", "reference": reference}
    return record(seq, "payment", "charge", key, payload, {"charge_id": charge_id, "amount_cents": 500}, outcome)


def test_an_effect_applied_twice_under_one_key_is_reported() -> None:
    once = [charge(1, "k1", "order-1", "ch-1")]
    verdict = checkers.effects_once([], MemoryOplogStore(), once)
    assert verdict.valid and verdict.checked == 1

    deduplicated = [*once, charge(2, "k1", "order-1", "ch-1", outcome="repeat")]
    assert checkers.effects_once([], MemoryOplogStore(), deduplicated).valid

    twice = [*once, charge(2, "k1", "order-1", "ch-2")]
    verdict = checkers.effects_once([], MemoryOplogStore(), twice)
    assert not verdict.valid
    assert verdict.counterexamples == [
        {"service": "payment", "key": "k1", "applied": 2, "problem": "applied more than once"}
    ]


def test_an_acknowledged_service_call_the_service_never_applied_is_reported(checkouts: RunResult) -> None:
    store = checkouts.cluster.storage.store
    ledger = checkouts.cluster.services.ledger
    assert checkers.effects_once(checkouts.history, store, ledger).valid

    first_charge = next(r for r in ledger if (r.service, r.operation) == ("payment", "charge"))
    forgotten = [r for r in ledger if (r.service, r.key) != ("payment", first_charge.key)]
    verdict = checkers.effects_once(checkouts.history, store, forgotten)
    assert not verdict.valid
    assert [(e["service"], e["key"], e["problem"]) for e in verdict.counterexamples] == [
        ("payment", first_charge.key, "acknowledged, but the service never applied it")
    ]


# --- the final state equals a serial replay -----------------------------------------------------


def test_a_final_state_the_serial_replay_does_not_reach_is_reported(counters: RunResult) -> None:
    store = counters.cluster.storage.store
    templates = counters.cluster.templates
    now_ns = EPOCH_NS + 60 * 10**9
    states = dict(counters.final_states)
    assert len(states) == 4 and all(isinstance(v, int) for v in states.values())
    verdict = checkers.serial_replay_matches(store, templates, states, {"counter": "get"}, now_ns)
    assert verdict.valid and verdict.checked == 4

    worker = sorted(states, key=str)[1]
    true_total = states[worker]
    states[worker] = true_total + 100
    verdict = checkers.serial_replay_matches(store, templates, states, {"counter": "get"}, now_ns)
    assert not verdict.valid and verdict.checked == 4
    [example] = verdict.counterexamples
    assert example["worker"] == str(worker)
    assert (example["cluster_state"], example["serial_state"]) == (true_total + 100, true_total)
    assert example["replayed"] >= 1


# --- application invariants ---------------------------------------------------------------------


def reserve(seq: int, order: str, reservation: str, sku: str = "sku-1", quantity: int = 2) -> ServiceRecord:
    lines = [{"sku": sku, "quantity": quantity}]
    answer = {"reservation_id": reservation, "reserved": lines, "back_ordered": []}
    return record(seq, "inventory", "reserve", f"{order}/reserve/{seq}", {"order_id": order, "items": lines}, answer)


def release(seq: int, reservation: str, sku: str = "sku-1", quantity: int = 2) -> ServiceRecord:
    answer = {"released": [{"sku": sku, "quantity": quantity}]}
    return record(seq, "inventory", "release", f"release/{seq}", {"reservation_id": reservation}, answer)


def refund(seq: int, charge_id: str) -> ServiceRecord:
    return record(seq, "payment", "refund", f"refund/{seq}", {"charge_id": charge_id}, {"refund_id": f"rf-{seq}"})


def ship(seq: int, order: str) -> ServiceRecord:
    payload = {"order_id": order, "items": [{"sku": "sku-1", "quantity": 2}]}
    return record(seq, "shipping", "create-shipment", f"{order}/ship/{seq}", payload, {"shipment_id": f"sh-{seq}"})


def test_stock_that_does_not_add_up_or_goes_negative_is_reported() -> None:
    ledger = [reserve(1, "order-1", "res-1", quantity=3)]
    assert checkers.stock_never_negative(ledger, {"sku-1": 7}, 10).valid
    assert checkers.stock_never_negative([*ledger, release(2, "res-1", quantity=3)], {"sku-1": 10}, 10).valid
    rejected = dataclasses.replace(ledger[0], outcome="rejected")
    assert checkers.stock_never_negative([rejected], {"sku-1": 10}, 10).valid  # a refused reservation moves nothing

    verdict = checkers.stock_never_negative(ledger, {"sku-1": 8}, 10)
    assert not verdict.valid
    assert verdict.counterexamples == [{"sku": "sku-1", "stock": 8, "expected": 7}]

    oversold = [reserve(1, "order-1", "res-1", quantity=8), reserve(2, "order-2", "res-2", quantity=4)]
    verdict = checkers.stock_never_negative(oversold, {"sku-1": -2}, 10)
    assert not verdict.valid
    assert verdict.counterexamples == [{"sku": "sku-1", "stock": -2, "problem": "negative stock"}]


def test_a_real_ledger_keeps_orders_and_stock_consistent(checkouts: RunResult) -> None:
    services = checkouts.cluster.services
    stock = checkers.stock_never_negative(services.ledger, services.store.stock, services.settings.default_stock)
    orders = checkers.orders_consistent(services.ledger)
    assert stock.valid and stock.checked >= 1
    assert orders.valid and orders.checked >= 1


WHOLE = [reserve(1, "order-1", "res-1"), charge(2, "c1", "order-1", "ch-1"), ship(3, "order-1")]
UNDONE = [reserve(1, "order-1", "res-1"), release(2, "res-1")]
REFUNDED = [
    reserve(1, "order-1", "res-1"),
    charge(2, "c1", "order-1", "ch-1"),
    refund(3, "ch-1"),
    release(4, "res-1"),
]


@pytest.mark.parametrize("ledger", [WHOLE, UNDONE, REFUNDED], ids=["shipped", "released", "refunded"])
def test_orders_whole_or_undone_are_valid(ledger: list[ServiceRecord]) -> None:
    verdict = checkers.orders_consistent(ledger)
    assert verdict.valid and verdict.checked == 1


@pytest.mark.parametrize(
    ("ledger", "problem"),
    [
        ([reserve(1, "order-1", "res-1"), charge(2, "c1", "order-1", "ch-1")], "charged but never shipped"),
        ([reserve(1, "order-1", "res-1")], "reserved and never released (not charged)"),
        ([*WHOLE, charge(4, "c1", "order-1", "ch-2")], "charged 2 times"),
        ([reserve(0, "order-1", "res-0"), *WHOLE], "stock reserved 2 times and kept"),
        ([*WHOLE, release(4, "res-1")], "charged but its reservation was released"),
        (
            [reserve(1, "order-1", "res-1"), charge(2, "c1", "order-1", "ch-1", outcome="rejected")],
            "reserved and never released (not charged)",
        ),
    ],
    ids=["not-shipped", "not-released", "charged-twice", "reserved-twice", "released-but-kept", "charge-refused"],
)
def test_an_order_left_half_done_is_reported(ledger: list[ServiceRecord], problem: str) -> None:
    verdict = checkers.orders_consistent(ledger)
    assert not verdict.valid
    assert verdict.counterexamples == [{"order": "order-1", "problem": problem}]


def test_an_auction_charged_twice_or_never_is_reported() -> None:
    lot = WorkerId("auction", "x")
    closed = {lot: {"state": "closed", "winner": "bidder-7"}}
    once = [charge(1, "auction-key", "auction/x", "ch-1")]
    verdict = checkers.auctions_charged_once(once, closed)
    assert verdict.valid and verdict.checked == 1
    assert checkers.auctions_charged_once([], {lot: {"state": "open", "winner": None}}).valid

    twice = [*once, charge(2, "another-key", "auction/x", "ch-2")]
    verdict = checkers.auctions_charged_once(twice, closed)
    assert not verdict.valid
    assert verdict.counterexamples == [
        {"auction": "auction/x", "charges": 2, "problem": "charged more than once"},
        {"auction": "x", "problem": "closed with a winner, not charged exactly once"},
    ]

    verdict = checkers.auctions_charged_once([], closed)
    assert not verdict.valid
    assert verdict.counterexamples == [{"auction": "x", "problem": "closed with a winner, not charged exactly once"}]


def test_carts_holding_more_or_less_than_was_added_are_reported(carts: RunResult) -> None:
    store = carts.cluster.storage.store
    cart_workers = [w for w in carts.final_states if w.template == "shopping-cart"]
    verdict = checkers.carts_conserve_items(store, carts.final_states, cart_workers)
    assert verdict.valid and verdict.checked == len(cart_workers) >= 3

    full = next(w for w in sorted(cart_workers, key=str) if carts.final_states[w])
    line = carts.final_states[full][0]
    added = sum(i["quantity"] for w in cart_workers for i in carts.final_states[w] if i["sku"] == line["sku"])

    more = copy.deepcopy(carts.final_states)
    more[full][0]["quantity"] += 1
    verdict = checkers.carts_conserve_items(store, more, cart_workers)
    assert not verdict.valid
    assert verdict.counterexamples == [{"sku": line["sku"], "added": added, "in_carts": added + 1}]

    fewer = copy.deepcopy(carts.final_states)
    del fewer[full][0]
    verdict = checkers.carts_conserve_items(store, fewer, cart_workers)
    assert not verdict.valid
    assert verdict.counterexamples == [{"sku": line["sku"], "added": added, "in_carts": added - line["quantity"]}]


def account(balance: int, in_doubt: int = 0) -> dict[str, int]:
    return {"balance": balance, "in-doubt": in_doubt, "transfers-out": 0, "refunds": 0}


def test_a_real_bank_run_conserves_money_and_its_calls_agree(banks: RunResult) -> None:
    states = banks.final_states
    assert len(states) == 5
    verdict = checkers.bank_conserves_money(states, 5000, accounts=5)
    assert verdict.valid and verdict.checked == 5, verdict.counterexamples
    in_doubt = sum(state["in-doubt"] for state in states.values())
    balances = sum(state["balance"] for state in states.values())
    assert verdict.note == f"5 accounts: balances {balances}, in doubt {in_doubt}, deposited 5000"

    store = banks.cluster.storage.store
    calls = call_checkers.worker_calls_agree(store)
    assert calls.valid and calls.checked == 60, calls.counterexamples
    stuck = call_checkers.nothing_stuck(store, banks.cluster.now_ns() // 1_000_000)
    assert stuck.valid and stuck.note == "explained: nothing open", stuck.counterexamples

    richer = copy.deepcopy(states)
    first = sorted(richer, key=str)[0]
    richer[first]["balance"] += 1
    verdict = checkers.bank_conserves_money(richer, 5000, accounts=5)
    assert not verdict.valid
    assert verdict.counterexamples == [
        {"deposited": 5000, "balances": balances + 1, "in_doubt": in_doubt, "problem": "money was made"}
    ]


def test_money_in_doubt_may_or_may_not_have_arrived() -> None:
    a, b, c = (WorkerId("bank", name) for name in "abc")
    arrived = {a: account(70, in_doubt=30), b: account(130)}
    lost_on_the_way = {a: account(70, in_doubt=30), b: account(100)}
    assert checkers.bank_conserves_money(arrived, 200).valid
    assert checkers.bank_conserves_money(lost_on_the_way, 200).valid

    verdict = checkers.bank_conserves_money({a: account(70, in_doubt=30), b: account(90)}, 200)
    assert not verdict.valid
    assert verdict.counterexamples == [{"deposited": 200, "balances": 160, "in_doubt": 30, "problem": "money was lost"}]

    unreadable = {a: account(100), b: account(100), c: {"unreadable": "node down"}}
    verdict = checkers.bank_conserves_money(unreadable, 200)
    assert verdict.counterexamples == [
        {"account": "bank/c", "problem": "its state could not be read: {'unreadable': 'node down'}"}
    ]


def test_money_is_not_summed_over_a_sample_of_the_accounts() -> None:
    sample = {WorkerId("bank", "a"): account(5)}
    verdict = checkers.bank_conserves_money(sample, 2000, accounts=2)
    assert verdict.valid and verdict.checked == 0
    assert verdict.note == "skipped: 1 of 2 accounts were read (check_limit); the sum needs them all"
