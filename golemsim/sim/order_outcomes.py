"""What became of each order in a checkout run, as one outcome per client request.

An order's outcome joins two things the run already has: what its client saw (the history:
ok, error or timeout) and what the services applied for it (the ledger). The ledger decides
whether the order is consistent, by the rules of the ``orders-whole-or-undone`` checker
(golemsim.sim.checkers.orders_consistent); the client's view only splits the whole orders
into those the client was told about and those it gave up on (or got an error for).

The four outcomes, in ``CATEGORIES`` order:

- ``whole``: charged once, shipped, its stock kept, and the client saw it succeed;
- ``whole-client-gave-up``: whole in the ledger, but the client timed out or got an error;
- ``half-done``: what the checker calls a problem (charged but never shipped, reserved and
  never released, charged twice, ...);
- ``not-done``: nothing kept (nothing applied, or everything applied was undone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..gateway import Request
from ..gateway.gateway import Invocation
from .clients import ClientOp
from .gateway import SimGateway
from .lambda_baseline import lambda_order_id
from .runner import RunResult
from .services import ServiceRecord

ORDER_PATH = "/checkout"
"""The route a client places an order on (the checkout app's, and the lambda baseline's)."""

CATEGORIES = ("whole", "whole-client-gave-up", "half-done", "not-done")
LABELS = {
    "whole": "completed whole",
    "whole-client-gave-up": "completed, but the client gave up or got an error",
    "half-done": "half-done",
    "not-done": "not done (nothing kept)",
}


@dataclass
class LedgerOrder:
    """What the services applied for one order."""

    charges: list[str] = field(default_factory=list)
    refunds: int = 0
    shipped: int = 0
    reservations: list[str] = field(default_factory=list)
    released: set[str] = field(default_factory=set)
    """Those of ``reservations`` that were released."""
    last_applied: float = 0.0
    """When the last request for this order was applied (simulated seconds)."""

    @property
    def kept_charges(self) -> int:
        return len(self.charges) - self.refunds

    @property
    def held(self) -> int:
        """Reservations not released."""
        return len([r for r in self.reservations if r not in self.released])

    def problem(self) -> str:
        """What is wrong with the order (the checker's rules, in its order), or "" when nothing is."""
        if len(self.charges) > 1:
            return f"charged {len(self.charges)} times"
        if self.held > 1:
            return f"stock reserved {self.held} times and kept"
        if self.kept_charges > 0 and not self.shipped:
            return "charged but never shipped"
        if self.kept_charges > 0 and not self.held:
            return "charged but its reservation was released"
        if self.kept_charges <= 0 and self.held:
            return "reserved and never released (not charged)"
        return ""


def ledger_orders(ledger: Iterable[ServiceRecord]) -> dict[str, LedgerOrder]:
    """Every order the ledger applied something for, by order id."""
    orders: dict[str, LedgerOrder] = {}
    reservation_order: dict[str, str] = {}
    charge_order: dict[str, str] = {}

    def order(order_id: str, at: float) -> LedgerOrder:
        found = orders.setdefault(order_id, LedgerOrder())
        found.last_applied = max(found.last_applied, at)
        return found

    for r in ledger:
        if r.outcome != "applied":
            continue
        step = (r.service, r.operation)
        if step == ("inventory", "reserve"):
            reservation_order[r.answer["reservation_id"]] = r.payload["order_id"]
            order(r.payload["order_id"], r.at).reservations.append(r.answer["reservation_id"])
        elif step == ("inventory", "release"):
            owner = reservation_order.get(r.payload["reservation_id"])
            if owner is not None:
                order(owner, r.at).released.add(r.payload["reservation_id"])
        elif step == ("payment", "charge"):
            charge_order[r.answer["charge_id"]] = r.payload["reference"]
            order(r.payload["reference"], r.at).charges.append(r.answer["charge_id"])
        elif step == ("payment", "refund"):
            owner = charge_order.get(r.payload["charge_id"])
            if owner is not None:
                order(owner, r.at).refunds += 1
        elif step == ("shipping", "create-shipment"):
            order(r.payload["order_id"], r.at).shipped += 1
        elif step == ("warehouse", "dispatch") and r.payload["order_id"] in orders:  # when it finished
            order(r.payload["order_id"], r.at)
    return orders


@dataclass(frozen=True)
class Order:
    """One order: the client's request and what became of it."""

    order_id: str
    request: str
    """The client's Idempotency-Key."""
    client: str
    """What the client saw: ok, error or timeout."""
    client_done: float | None
    """When the client got its answer or gave up (simulated seconds)."""
    finished: float | None
    """When the services last applied something for it (None: nothing was applied)."""
    category: str
    note: str = ""
    """half-done: what is wrong; not-done: "nothing applied" or "undone"."""

    @property
    def finished_after_client(self) -> bool:
        return self.finished is not None and self.client_done is not None and self.finished > self.client_done

    def describe(self) -> str:
        """One line for a report: the order, its request, and what happened."""
        head = f"`{self.order_id}` (request `{self.request}`"
        if self.category == "whole-client-gave-up":
            seen = "gave up" if self.client == "timeout" else "got an error"
            at = "" if self.client_done is None else f" at {self.client_done:.1f} s"
            done = "" if self.finished is None else f"; the order finished at {self.finished:.1f} s"
            return f"{head}): the client {seen}{at}{done}"
        return f"{head}, client saw {self.client}): {self.note}"


@dataclass(frozen=True)
class OrderOutcomes:
    """The outcome of every order one side of a run placed."""

    side: str
    """"workers" or "lambdas"."""
    orders: list[Order]

    def counts(self) -> dict[str, int]:
        """How many orders in each category (every category, in CATEGORIES order)."""
        found = Counter(o.category for o in self.orders)
        return {category: found[category] for category in CATEGORIES}

    def of(self, category: str) -> list[Order]:
        return [o for o in self.orders if o.category == category]

    @property
    def whole(self) -> int:
        """Orders whole in the ledger, whatever their client saw."""
        return len(self.of("whole")) + len(self.of("whole-client-gave-up"))

    def to_json(self, examples: int = 5) -> dict[str, Any]:
        """The counts, and the first few order ids of each category but ``whole``."""
        return {
            "orders": len(self.orders),
            **self.counts(),
            "finished_after_client_gave_up": sum(o.finished_after_client for o in self.of("whole-client-gave-up")),
            "examples": {
                category: [{"order": o.order_id, "request": o.request, "note": o.note} for o in self.of(category)][
                    :examples
                ]
                for category in CATEGORIES[1:]
                if self.of(category)
            },
        }

    def sentence(self) -> str:
        """E.g. "600 of 600 orders whole (20 finished after the client gave up)", then what went wrong."""
        total = len(self.orders)
        text = f"{self.whole} of {total} orders whole"
        late = self.of("whole-client-gave-up")
        if late:
            after = sum(o.finished_after_client for o in late)
            parts = []
            if after:
                parts.append(f"{after} finished after the client gave up")
            told = [o for o in late if not o.finished_after_client]
            if told:
                saw = {"timeout": "timed out", "error": "got an error"}
                seen = " or ".join(sorted({saw.get(o.client, f"saw {o.client}") for o in told}))
                parts.append(f"{len(told)} whole though the client {seen}")
            text += f" ({'; '.join(parts)})"
        half = self.of("half-done")
        if half:
            problems = Counter(o.note for o in half)
            what = ", ".join(f"{n} {problem}" if len(problems) > 1 else problem for problem, n in problems.items())
            ids = ", ".join(f"`{o.order_id}`" for o in half[:3]) + (", ..." if len(half) > 3 else "")
            text += f"; {len(half)} half-done: {what} ({ids})"
        undone = self.of("not-done")
        if undone:
            text += f"; {len(undone)} not done (nothing kept)"
        return text


def order_outcomes(result: RunResult) -> OrderOutcomes | None:
    """Each order's outcome in a run, or None when its clients placed no orders (another app)."""
    placed = [op for op in result.history if op.op.method == "POST" and op.op.path == ORDER_PATH]
    if not placed:
        return None
    ledger = ledger_orders(result.cluster.services.ledger)
    orders = [_outcome(op, _order_id(result, op), ledger) for op in placed]
    return OrderOutcomes("workers" if result.variant == "workers" else "lambdas", orders)


def both_sides(result: RunResult, baseline: RunResult | None = None) -> list[OrderOutcomes]:
    """The order outcomes of the workers and then of the lambda baseline, of those that placed orders."""
    found = [order_outcomes(result), None if baseline is None else order_outcomes(baseline)]
    return [outcomes for outcomes in found if outcomes is not None]


def _order_id(result: RunResult, op: ClientOp) -> str:
    """The order a request placed: the worker the gateway binds it to (named after its
    Idempotency-Key), or for the lambda baseline "order-" + the key, as it names them."""
    if op.bound is not None:
        return op.bound.worker.name
    frontend = result.cluster.gateway
    if isinstance(frontend, SimGateway):
        request = Request.json(op.op.method, op.op.path, op.op.body, {"Idempotency-Key": op.op.key})
        bound = frontend.gateway.bind(request)
        if isinstance(bound, Invocation):
            return bound.worker_id.name
    return lambda_order_id(op.op.key)


def _outcome(op: ClientOp, order_id: str, ledger: dict[str, LedgerOrder]) -> Order:
    found = ledger.get(order_id)
    finished = found.last_applied if found is not None else None
    problem = found.problem() if found is not None else ""
    if problem:
        category, note = "half-done", problem
    elif found is not None and found.kept_charges > 0:
        category, note = ("whole" if op.outcome == "ok" else "whole-client-gave-up"), ""
    else:
        category, note = "not-done", "nothing applied" if found is None else "undone"
    return Order(order_id, op.op.key, op.outcome, op.done, finished, category, note)
