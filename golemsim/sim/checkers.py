"""Checkers: did the run lose an acknowledged invocation, do an effect twice, or end in a state
that a failure-free serial run would not reach? Each returns a Verdict with the first few
counter-examples, smallest first.

They read what the run left behind: the clients' history, the final oplogs in the storage,
the services' ledger, and each worker's state as read through the cluster at the end. The
oplogs come as an OplogStore; a run's checks all take one CommittedOplogs, so that each
worker's oplog is read, decoded and digested once for all of them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import GolemError
from ..core.history import History, analyze
from ..core.ids import WorkerId
from ..core.oplog.entries import HostCall, InvocationCompleted
from ..core.oplog.store import OplogStore
from ..core.serial_replay import FrozenClock, replay_serially
from ..core.templates import TemplateRegistry
from .clients import ClientOp
from .committed import CommittedOplogs, committed, read_whole
from .services import ServiceRecord

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Verdict:
    name: str
    valid: bool
    checked: int
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    failures: int = 0
    """How many counter-examples there were in all (the first few are kept)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "checker": self.name,
            "valid": self.valid,
            "checked": self.checked,
            "failures": self.failures,
            "counterexamples": self.counterexamples,
            "note": self.note,
        }


def verdict(name: str, checked: int, problems: list[dict[str, Any]], note: str = "") -> Verdict:
    """A verdict that keeps the first MAX_EXAMPLES counter-examples and counts them all."""
    return Verdict(name, not problems, checked, problems[:MAX_EXAMPLES], note, len(problems))


def whole_history(store: OplogStore, worker: WorkerId) -> History:
    """Archived and hot entries together (the hot ones alone if older ones were dropped).
    From CommittedOplogs, the History it digested once (shared: not to be changed)."""
    if isinstance(store, CommittedOplogs):
        return store.history(worker)
    return analyze(read_whole(store, worker)[0])


def no_acknowledged_invocation_lost(history: list[ClientOp], store: OplogStore) -> Verdict:
    """Every operation a client saw succeed is a completed invocation in its worker's oplog."""
    oplogs = committed(store)
    problems = []
    results: dict[WorkerId, dict[str, Any]] = {}
    acknowledged = [op for op in history if op.outcome == "ok" and op.bound is not None and op.bound.key]
    for op in acknowledged:
        assert op.bound is not None
        worker = op.bound.worker
        if worker not in results:
            results[worker] = oplogs.history(worker).results() if oplogs.length(worker) else {}
        outcome = results[worker].get(op.bound.key or "")
        if not isinstance(outcome, InvocationCompleted):
            problems.append(
                {
                    "op": op.n,
                    "key": op.op.key,
                    "worker": str(worker),
                    "found": type(outcome).__name__ if outcome else None,
                }
            )
    return verdict("no-acknowledged-invocation-lost", len(acknowledged), problems)


def effects_once(history: list[ClientOp], store: OplogStore, ledger: list[ServiceRecord]) -> Verdict:
    """Each external effect is applied at most once per idempotency key, and exactly once for
    every service call inside an invocation a client saw succeed."""
    applied = Counter((r.service, r.key) for r in ledger if r.outcome == "applied")
    answered = {(r.service, r.key) for r in ledger if r.outcome in ("applied", "rejected")}
    problems = [
        {"service": service, "key": key, "applied": times, "problem": "applied more than once"}
        for (service, key), times in sorted(applied.items())
        if times > 1
    ]
    checked = len(applied)
    acknowledged = {
        (op.bound.worker, op.bound.key) for op in history if op.outcome == "ok" and op.bound and op.bound.key
    }
    by_worker: dict[WorkerId, set[str]] = defaultdict(set)
    for worker, key in acknowledged:
        by_worker[worker].add(key or "")
    oplogs = committed(store)
    for worker in sorted(by_worker, key=str):
        for record in oplogs.history(worker).completed:
            if record.idempotency_key not in by_worker[worker]:
                continue
            for _, entry in record.calls:
                if not (isinstance(entry, HostCall) and entry.function == "call-service"):
                    continue
                request = entry.request
                call = (request["service"], request["idempotency_key"])
                checked += 1
                if call not in answered:
                    problems.append(
                        {
                            "worker": str(worker),
                            "invocation": record.idempotency_key,
                            "service": call[0],
                            "key": call[1],
                            "problem": "acknowledged, but the service never applied it",
                        }
                    )
    return verdict("effects-at-most-once-and-exactly-once-when-acknowledged", checked, problems)


def serial_replay_matches(
    store: OplogStore,
    registry: TemplateRegistry,
    final_states: dict[WorkerId, Any],
    state_functions: dict[str, str],
    now_ns: int,
) -> Verdict:
    """For each worker read at the end: a fresh instance re-runs its completed invocations one
    after another, with no failure (host calls answered from the oplog); every result must
    be the recorded one, and the state it then reports must equal the cluster's answer."""
    oplogs = committed(store)
    problems: list[dict[str, Any]] = []
    environment = FrozenClock(now_ns)
    for worker in sorted(final_states, key=str):
        history = oplogs.history(worker)
        try:
            replay = replay_serially(worker, history, registry, environment)
            replayed = replay.replayed
            state = replay.instance.run("final-state-check", state_functions[worker.template], [], [], may_go_live=True)
        except GolemError as error:
            problems.append({"worker": str(worker), "problem": f"replay failed: {error}"})
            continue
        expected = final_states[worker]
        if not state.ok or state.result != expected:
            problems.append(
                {"worker": str(worker), "replayed": replayed, "cluster_state": expected, "serial_state": state.result}
            )
    return verdict("final-state-equals-serial-replay", len(final_states), problems)


# --- application invariants -----------------------------------------------------------------


def stock_never_negative(ledger: list[ServiceRecord], stock: dict[str, int], default_stock: int) -> Verdict:
    """Stock is never negative, and what left the shelf equals reservations minus releases."""
    problems: list[dict[str, Any]] = []
    moved: Counter[str] = Counter()
    reservations: dict[str, list[dict[str, Any]]] = {}
    for record in ledger:
        if record.outcome != "applied" or record.service != "inventory":
            continue
        if record.operation == "reserve":
            reservations[record.answer["reservation_id"]] = record.answer["reserved"]
            for line in record.answer["reserved"]:
                moved[line["sku"]] += line["quantity"]
        elif record.operation == "release":
            for line in record.answer["released"]:
                moved[line["sku"]] -= line["quantity"]
    for sku in sorted(set(stock) | set(moved)):
        on_hand = stock.get(sku, default_stock)
        if on_hand < 0:
            problems.append({"sku": sku, "stock": on_hand, "problem": "negative stock"})
        if on_hand != default_stock - moved[sku]:
            problems.append({"sku": sku, "stock": on_hand, "expected": default_stock - moved[sku]})
    return verdict("stock-never-negative", len(set(stock) | set(moved)), problems)


def orders_consistent(ledger: list[ServiceRecord]) -> Verdict:
    """Every order ends whole or undone: charged at most once, and a charge that was not
    refunded has a shipment and a reservation that was not released; an order not charged
    (or refunded) has its reservation released."""
    orders: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"charges": [], "refunds": 0, "shipped": 0, "reservations": []}
    )
    reservation_order: dict[str, str] = {}
    released: set[str] = set()
    charge_order: dict[str, str] = {}
    for r in ledger:
        if r.outcome != "applied":
            continue
        if (r.service, r.operation) == ("inventory", "reserve"):
            reservation_order[r.answer["reservation_id"]] = r.payload["order_id"]
            orders[r.payload["order_id"]]["reservations"].append(r.answer["reservation_id"])
        elif (r.service, r.operation) == ("inventory", "release"):
            released.add(r.payload["reservation_id"])
        elif (r.service, r.operation) == ("payment", "charge"):
            orders[r.payload["reference"]]["charges"].append(r.answer["charge_id"])
            charge_order[r.answer["charge_id"]] = r.payload["reference"]
        elif (r.service, r.operation) == ("payment", "refund"):
            order = charge_order.get(r.payload["charge_id"])
            if order is not None:
                orders[order]["refunds"] += 1
        elif (r.service, r.operation) == ("shipping", "create-shipment"):
            orders[r.payload["order_id"]]["shipped"] += 1
    problems = []
    for order_id in sorted(orders):
        o = orders[order_id]
        kept = len(o["charges"]) - o["refunds"]
        held = [r for r in o["reservations"] if r not in released]
        if len(o["charges"]) > 1:
            problems.append({"order": order_id, "problem": f"charged {len(o['charges'])} times"})
        elif len(held) > 1:
            problems.append({"order": order_id, "problem": f"stock reserved {len(held)} times and kept"})
        elif kept > 0 and not o["shipped"]:
            problems.append({"order": order_id, "problem": "charged but never shipped"})
        elif kept > 0 and not held:
            problems.append({"order": order_id, "problem": "charged but its reservation was released"})
        elif kept <= 0 and held:
            problems.append({"order": order_id, "problem": "reserved and never released (not charged)"})
    return verdict("orders-whole-or-undone", len(orders), problems)


def auctions_charged_once(ledger: list[ServiceRecord], final_states: dict[WorkerId, Any]) -> Verdict:
    """An auction has at most one winner, charged once; a closed auction with a winner is charged."""
    charges: Counter[str] = Counter()
    for r in ledger:
        if r.outcome == "applied" and (r.service, r.operation) == ("payment", "charge"):
            charges[str(r.payload["reference"])] += 1
    problems = [
        {"auction": ref, "charges": n, "problem": "charged more than once"}
        for ref, n in sorted(charges.items())
        if n > 1
    ]
    for worker, state in sorted(final_states.items(), key=lambda item: str(item[0])):
        if worker.template != "auction" or not isinstance(state, dict):
            continue
        winner = state.get("winner")
        if state.get("state") == "closed" and winner and charges[f"auction/{worker.name}"] != 1:
            problems.append({"auction": worker.name, "problem": "closed with a winner, not charged exactly once"})
    return verdict("auction-one-winner-charged-once", len(final_states), problems)


LEAVING_CARTS = ("remove-item", "clear", "checkout")
"""Invocations that take items out of the carts (the conservation check does not follow them)."""


def carts_conserve_items(store: OplogStore, final_states: dict[WorkerId, Any], carts: Iterable[WorkerId]) -> Verdict:
    """Merging moves items, never makes or loses them: per sku, what the final carts hold equals
    every completed add-item. Applies to runs where items only enter carts and move between
    them (add-item, merge-from); with remove-item, clear or checkout it says it was skipped."""
    added: Counter[str] = Counter()
    held: Counter[str] = Counter()
    checked = 0
    name = "merged-carts-hold-the-sum"
    oplogs = committed(store)
    for worker in sorted(carts, key=str):
        checked += 1
        for record in oplogs.history(worker).completed:
            if record.function in LEAVING_CARTS:
                return Verdict(
                    name, True, 0, note=f"skipped: {worker} ran {record.function}, which this check does not follow"
                )
            if record.function == "add-item" and _is_ok(record.outcome):
                item = record.args[0]
                added[item["sku"]] += item["quantity"]
        for line in final_states.get(worker) or []:
            held[line["sku"]] += line["quantity"]
    problems = [
        {"sku": sku, "added": added[sku], "in_carts": held[sku]}
        for sku in sorted(set(added) | set(held))
        if added[sku] != held[sku]
    ]
    return verdict(name, checked, problems)


def _is_ok(outcome: Any) -> bool:
    return isinstance(outcome, InvocationCompleted) and not (
        isinstance(outcome.result, dict) and "err" in outcome.result
    )


def bank_conserves_money(final_states: dict[WorkerId, Any], opening_total: int, accounts: int | None = None) -> Verdict:
    """Transfers move money, never make or lose it. Over all bank accounts the balances add up to
    ``opening_total`` (the money deposited), except for money in doubt: it left its account and
    may or may not have arrived, so ``balances <= opening_total <= balances + in-doubt`` (equal
    when nothing is in doubt). ``accounts`` is how many accounts there are: a sample of fewer
    (check_limit) cannot be summed, and the check says it was skipped."""
    name = "bank-conserves-money"
    states = sorted(((w, s) for w, s in final_states.items() if w.template == "bank"), key=lambda item: str(item[0]))
    if accounts is not None and len(states) < accounts:
        note = f"skipped: {len(states)} of {accounts} accounts were read (check_limit); the sum needs them all"
        return Verdict(name, True, 0, note=note)
    problems: list[dict[str, Any]] = []
    balances = in_doubt = 0
    for worker, state in states:
        if not (isinstance(state, dict) and isinstance(state.get("balance"), int)):
            problems.append({"account": str(worker), "problem": f"its state could not be read: {state!r}"})
            continue
        balances += state["balance"]
        in_doubt += state.get("in-doubt", 0)
    if not problems and not balances <= opening_total <= balances + in_doubt:
        made = balances > opening_total
        problems.append(
            {
                "deposited": opening_total,
                "balances": balances,
                "in_doubt": in_doubt,
                "problem": "money was made" if made else "money was lost",
            }
        )
    note = f"{len(states)} accounts: balances {balances}, in doubt {in_doubt}, deposited {opening_total}"
    return verdict(name, len(states), problems, note)
