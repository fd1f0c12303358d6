"""The shop's external services, defined once: operations, payload shapes and checks.

Five services serve the shop templates: inventory, payment, shipping, warehouse and email.
Each operation takes a JSON object (snake_case keys) and answers one. The real local ledger
(golemsim.shop.ledger) and the simulated services both validate requests here and apply
them with the same business rules (golemsim.shop.rules), so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from ..core.services import ServiceRejected


class LineItem(TypedDict):
    sku: str
    quantity: int


class Reservation(TypedDict):
    reservation_id: str
    reserved: list[LineItem]
    back_ordered: list[LineItem]


class Charge(TypedDict):
    charge_id: str
    amount_cents: int


class Shipment(TypedDict):
    shipment_id: str
    tracking_number: str


@dataclass(frozen=True)
class Operation:
    """One operation of one service: its required fields and their JSON types."""

    service: str
    name: str
    fields: dict[str, type | tuple[type, ...]]
    doc: str


OPERATIONS: dict[tuple[str, str], Operation] = {
    (op.service, op.name): op
    for op in (
        Operation(
            "inventory",
            "reserve",
            {"order_id": str, "items": list},
            "reserve what is in stock -> {reservation_id, reserved, back_ordered}",
        ),
        Operation("inventory", "release", {"reservation_id": str}, "give a reservation back -> {released}"),
        Operation("inventory", "available", {"sku": str}, "stock on hand -> {sku, available}"),
        Operation(
            "payment",
            "charge",
            {"payment_method": str, "amount_cents": int, "currency": str, "reference": str},
            "charge a payment method -> {charge_id, amount_cents}; rejected 'declined: ...'",
        ),
        Operation("payment", "refund", {"charge_id": str}, "refund a charge -> {refund_id}"),
        Operation(
            "shipping",
            "create-shipment",
            {"order_id": str, "address": dict, "items": list},
            "book a shipment -> {shipment_id, tracking_number}",
        ),
        Operation(
            "warehouse",
            "dispatch",
            {"order_id": str, "shipment_id": str, "items": list},
            "hand an order to the warehouse -> {dispatch_id}",
        ),
        Operation("email", "send", {"to": str, "subject": str, "body": str}, "send an email -> {message_id}"),
    )
}

SERVICES: tuple[str, ...] = tuple(sorted({service for service, _ in OPERATIONS}))
"""The shop's service names."""


def validate(service: str, operation: str, payload: Any) -> dict[str, Any]:
    """Check a request against its operation; raise ServiceRejected naming what is wrong."""
    spec = OPERATIONS.get((service, operation))
    if spec is None:
        known = sorted(name for s, name in OPERATIONS if s == service)
        raise ServiceRejected(f"{service} has no operation {operation!r} (known: {known})")
    if not isinstance(payload, dict):
        raise ServiceRejected(f"{service}.{operation}: payload must be a JSON object")
    for name, kind in spec.fields.items():
        value = payload.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise ServiceRejected(f"{service}.{operation}: field {name!r} must be a {expected}, got {value!r}")
    if "items" in spec.fields:
        items = [_line_item(service, operation, i, item) for i, item in enumerate(payload["items"])]
        payload = {**payload, "items": items}
    if operation == "charge" and payload["amount_cents"] <= 0:
        raise ServiceRejected(f"payment.charge: amount_cents must be positive, got {payload['amount_cents']}")
    return dict(payload)


def _line_item(service: str, operation: str, position: int, item: Any) -> LineItem:
    where = f"{service}.{operation}: items[{position}]"
    if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
        raise ServiceRejected(f"{where} needs a string 'sku'")
    quantity = item.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise ServiceRejected(f"{where}.quantity must be a positive integer, got {quantity!r}")
    return {"sku": item["sku"], "quantity": quantity}
