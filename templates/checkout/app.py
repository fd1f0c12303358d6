"""The checkout template: one worker per checkout request.

``run(order)`` validates the order, reserves stock, charges for what was reserved, creates a
shipment, dispatches it to the warehouse and emails the customer. Every external call carries
an idempotency key derived from one durable key, so a call that is retried or replayed is
applied once. When a later step fails, the earlier ones are undone with plain try/except.
"""

from dataclasses import asdict

import golemsim_guest as golem
import wit_world
from componentize_py_types import Err
from wit_world import (
    CheckoutError,
    CheckoutError_InvalidOrder,
    CheckoutError_OutOfStock,
    CheckoutError_PaymentDeclined,
    CheckoutError_Unavailable,
    CheckoutResult,
    CheckoutStatus,
    LineItem,
    Order,
)

# The worker's state. It lives in memory only: golemsim rebuilds it by replaying the oplog.
_step = "new"
_order: Order | None = None
_result: CheckoutResult | None = None
_error: CheckoutError | None = None

FAILED = (golem.ServiceRejected, golem.ServiceUnavailable)


class WitWorld(wit_world.WitWorld):
    def run(self, order: Order) -> CheckoutResult:
        global _order, _result, _error
        if _order is None:  # the first run does the work; its outcome is final
            _order = order
            try:
                _result = _checkout(order)
            except Err as failure:
                _error = failure.value
        elif order != _order:
            raise Err(CheckoutError_InvalidOrder("this checkout already ran for a different order"))
        if _error is not None:
            raise Err(_error)
        return _result

    def status(self) -> CheckoutStatus:
        return CheckoutStatus(step=_step, result=_result, error=_error)


def _checkout(order: Order) -> CheckoutResult:
    _at("validating")
    if not order.items:
        raise Err(CheckoutError_InvalidOrder("the order has no items"))
    for item in order.items:
        if item.quantity == 0:
            raise Err(CheckoutError_InvalidOrder(f"quantity of {item.sku} must be more than zero"))
    order_id = golem.worker_id()[1]
    key = golem.idempotency_key()  # durable: the same key again on replay; each call derives its own

    _at("reserving")
    try:
        reservation = _call(key, "inventory", "reserve", {"order_id": order_id, "items": _skus(order.items)})
    except FAILED as error:
        raise Err(CheckoutError_Unavailable(f"inventory: {error}")) from None
    shipped, back_ordered = _split(order.items, reservation["reserved"])
    if not shipped:
        raise Err(CheckoutError_OutOfStock())
    release = {"reservation_id": reservation["reservation_id"]}

    _at("charging")
    amount = sum(line.quantity * line.unit_price_cents for line in shipped)
    charge_request = {
        "payment_method": order.payment_method,
        "amount_cents": amount,
        "currency": order.currency,
        "reference": order_id,
    }
    try:
        charge = _call(key, "payment", "charge", charge_request)
    except golem.ServiceRejected as error:
        note = _undo(key, "inventory", "release", release)
        raise Err(CheckoutError_PaymentDeclined(f"{error}{note}")) from None
    except golem.ServiceUnavailable as error:
        note = _undo(key, "inventory", "release", release)
        raise Err(CheckoutError_Unavailable(f"payment: {error}{note}")) from None

    try:
        _at("shipping")
        parcel = {"order_id": order_id, "address": asdict(order.address), "items": _skus(shipped)}
        shipment = _call(key, "shipping", "create-shipment", parcel)
        _at("dispatching")
        dispatch = {"order_id": order_id, "shipment_id": shipment["shipment_id"], "items": _skus(shipped)}
        _call(key, "warehouse", "dispatch", dispatch)
    except FAILED as error:
        note = _undo(key, "payment", "refund", {"charge_id": charge["charge_id"]})
        note += _undo(key, "inventory", "release", release)
        raise Err(CheckoutError_Unavailable(f"{_step}: {error}{note}")) from None

    result = CheckoutResult(
        order_id=order_id,
        charged_cents=amount,
        charge_id=charge["charge_id"],
        tracking_number=shipment["tracking_number"],
        shipped=shipped,
        back_ordered=back_ordered,
        back_order_id=f"{order_id}-backorder" if back_ordered else None,
    )
    _at("emailing")
    try:  # the goods are on their way: a lost email does not undo the order
        _call(key, "email", "send", _confirmation(order, result))
    except FAILED as error:
        golem.log(f"confirmation email for {order_id} not sent: {error}", level="warning")
    _at("done")
    return result


def _at(step: str) -> None:
    global _step
    _step = step


def _call(key: str, service: str, operation: str, payload: dict) -> dict:
    """An external call whose idempotency key is this run's key plus the operation's name."""
    return golem.call(service, operation, payload, key=f"{key}/{service}.{operation}")


def _undo(key: str, service: str, operation: str, payload: dict) -> str:
    """A compensating call; returns "" when done, else a note for the error message."""
    try:
        _call(key, service, operation, payload)
        return ""
    except FAILED as error:
        golem.log(f"{service}.{operation} failed while undoing: {error}", level="error")
        return f" ({service}.{operation} failed too: {error})"


def _skus(items: list[LineItem]) -> list[dict]:
    return [{"sku": item.sku, "quantity": item.quantity} for item in items]


def _split(items: list[LineItem], reserved: list[dict]) -> tuple[list[LineItem], list[LineItem]]:
    """Share the reserved quantities out over the order's lines: (shipped now, back-ordered)."""
    left: dict[str, int] = {}
    for line in reserved:
        left[line["sku"]] = left.get(line["sku"], 0) + line["quantity"]
    shipped, back_ordered = [], []
    for item in items:
        now = min(item.quantity, left.get(item.sku, 0))
        left[item.sku] = left.get(item.sku, 0) - now
        if now:
            shipped.append(LineItem(item.sku, now, item.unit_price_cents))
        if item.quantity > now:
            back_ordered.append(LineItem(item.sku, item.quantity - now, item.unit_price_cents))
    return shipped, back_ordered


def _confirmation(order: Order, result: CheckoutResult) -> dict:
    lines = [f"  {line.quantity} x {line.sku}" for line in result.shipped]
    body = [
        f"Thank you for your order {result.order_id}.",
        f"We charged {_money(result.charged_cents)} {order.currency} and shipped:",
        *lines,
        f"Tracking number: {result.tracking_number}",
    ]
    if result.back_ordered:
        later = ", ".join(f"{line.quantity} x {line.sku}" for line in result.back_ordered)
        body.append(f"Back-ordered ({result.back_order_id}), not charged yet: {later}")
    return {"to": order.email, "subject": f"Order {result.order_id} is on its way", "body": "\n".join(body)}


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"
