"""Order outcomes read the services' ledger by the orders-whole-or-undone checker's rules: the
same orders are half-done, for the same reason."""

from __future__ import annotations

from typing import Any

from golemsim.sim import checkers
from golemsim.sim.order_outcomes import CATEGORIES, Order, OrderOutcomes, ledger_orders
from golemsim.sim.services import ServiceRecord


class Ledger:
    """Builds ledger records the way the simulated services write them (applied requests)."""

    def __init__(self) -> None:
        self.records: list[ServiceRecord] = []

    def add(self, service: str, operation: str, payload: dict[str, Any], answer: dict[str, Any], *, at: float) -> None:
        key = f"{len(self.records)}/{service}.{operation}"
        self.records.append(ServiceRecord(len(self.records), at, service, operation, key, payload, "applied", answer))

    def reserve(self, order: str, at: float = 1.0) -> str:
        reservation = f"res-{len(self.records)}"
        lines = [{"sku": "sku-1", "quantity": 1}]
        self.add(
            "inventory",
            "reserve",
            {"order_id": order, "items": lines},
            {"reservation_id": reservation, "reserved": lines},
            at=at,
        )
        return reservation

    def release(self, reservation: str, at: float = 1.0) -> None:
        self.add("inventory", "release", {"reservation_id": reservation}, {"released": []}, at=at)

    def charge(self, order: str, at: float = 1.0) -> str:
        charge = f"ch-{len(self.records)}"
        self.add("payment", "charge", {"reference": order, "amount_cents": 250}, {"charge_id": charge}, at=at)
        return charge

    def refund(self, charge: str, at: float = 1.0) -> None:
        self.add("payment", "refund", {"charge_id": charge}, {"refund_id": f"rf-{charge}"}, at=at)

    def ship(self, order: str, at: float = 1.0) -> None:
        self.add("shipping", "create-shipment", {"order_id": order}, {"shipment_id": f"sh-{order}"}, at=at)


def sample_ledger() -> Ledger:
    ledger = Ledger()
    ledger.reserve("whole")
    ledger.charge("whole")
    ledger.ship("whole", at=4.5)
    ledger.reserve("never-shipped")
    ledger.charge("never-shipped")
    ledger.reserve("never-released")
    ledger.release(ledger.reserve("undone"))
    ledger.reserve("twice")
    ledger.charge("twice")
    ledger.charge("twice")
    ledger.ship("twice")
    reservation = ledger.reserve("released-but-charged")
    ledger.charge("released-but-charged")
    ledger.ship("released-but-charged")
    ledger.release(reservation)
    ledger.reserve("refunded")
    ledger.release(ledger.reserve("refunded"))  # a second reservation, released
    ledger.refund(ledger.charge("refunded"))
    return ledger


def test_half_done_orders_are_the_checkers_failures_with_the_same_problem() -> None:
    ledger = sample_ledger().records
    verdict = checkers.orders_consistent(ledger)
    orders = ledger_orders(ledger)
    problems = {order: o.problem() for order, o in orders.items() if o.problem()}
    assert problems == {example["order"]: example["problem"] for example in verdict.counterexamples}
    assert len(problems) == verdict.failures == 5  # every order but "whole" and "undone"
    assert set(orders) == {
        "whole",
        "never-shipped",
        "never-released",
        "undone",
        "twice",
        "released-but-charged",
        "refunded",
    }
    assert orders["whole"].kept_charges == 1 and orders["whole"].last_applied == 4.5
    assert orders["refunded"].kept_charges == 0 and orders["refunded"].held == 1  # the checker's rules say so


def test_outcomes_count_every_order_once_and_say_what_went_wrong() -> None:
    outcomes = OrderOutcomes(
        "lambdas",
        [
            Order("order-1", "checkout-1", "ok", 1.0, 0.9, "whole"),
            Order("order-2", "checkout-2", "timeout", 6.0, 7.5, "whole-client-gave-up"),
            Order("order-3", "checkout-3", "error", 4.8, 2.0, "whole-client-gave-up"),
            Order("order-4", "checkout-4", "error", 3.0, 1.1, "half-done", "charged but never shipped"),
            Order("order-5", "checkout-5", "error", 3.0, None, "not-done", "nothing applied"),
        ],
    )
    assert outcomes.counts() == dict(zip(CATEGORIES, [1, 2, 1, 1], strict=True))
    assert sum(outcomes.counts().values()) == len(outcomes.orders)
    assert outcomes.sentence() == (
        "3 of 5 orders whole (1 finished after the client gave up; 1 whole though the client got an error); "
        "1 half-done: charged but never shipped (`order-4`); 1 not done (nothing kept)"
    )
    summary = outcomes.to_json()
    assert summary["orders"] == 5 and summary["half-done"] == 1 and summary["finished_after_client_gave_up"] == 1
    assert [e["order"] for e in summary["examples"]["half-done"]] == ["order-4"]
    assert "whole" not in summary["examples"]
    assert outcomes.of("whole-client-gave-up")[0].describe() == (
        "`order-2` (request `checkout-2`): the client gave up at 6.0 s; the order finished at 7.5 s"
    )
