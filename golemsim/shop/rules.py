"""The shop services' business rules, shared by the real ledger and the simulated services.

Rules read and write through a ShopStore, so the same rules run on a SQLite transaction
(golemsim serve, the tests) and on in-memory state (the simulation).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from ..core.services import ServiceRejected
from .contracts import Charge, LineItem, Reservation, Shipment, validate


def checked_apply(store: ShopStore, service: str, operation: str, payload: Any, *, decline: bool = False) -> Any:
    """Check a request against its contract, then apply it."""
    return apply(store, service, operation, validate(service, operation, payload), decline=decline)


DECLINED_METHOD = "card-declined"
"""A payment method that is always declined, like a payment provider's test card."""


class ShopStore(Protocol):
    """The state the rules need."""

    def available(self, sku: str) -> int: ...

    def set_available(self, sku: str, quantity: int) -> None: ...

    def next_id(self, prefix: str) -> str:
        """A fresh id such as ``ch-7``: unique in this store, assigned in request order."""
        ...

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None: ...

    def put(self, kind: str, record_id: str, record: dict[str, Any]) -> None: ...


FirstAnswer = Callable[[], tuple[str, Any] | None]
"""The recorded (outcome, answer) of the first request with this service and key, if any."""
Record = Callable[[str, Any], None]
"""Records this request's (outcome, answer): applied, repeat or rejected."""


def answer_once(perform: Callable[[], Any], *, first: FirstAnswer | None, record: Record) -> tuple[str, Any]:
    """Serve a request at most once per idempotency key: a repeat gets the first request's
    (outcome, answer) when ``first`` is given (deduplication on); otherwise ``perform()`` runs,
    and a ServiceRejected it raises is the answer "rejected". Each request is recorded."""
    earlier = first() if first is not None else None
    if earlier is not None:
        record("repeat", earlier[1])
        return earlier
    try:
        result = perform()
    except ServiceRejected as refusal:
        record("rejected", str(refusal))
        return "rejected", str(refusal)
    record("applied", result)
    return "applied", result


def apply(store: ShopStore, service: str, operation: str, request: dict[str, Any], *, decline: bool = False) -> Any:
    """Apply one validated request; raise ServiceRejected for a business refusal."""
    if service == "inventory":
        if operation == "reserve":
            return reserve(store, request["order_id"], request["items"])
        if operation == "release":
            return {"released": release(store, request["reservation_id"])}
        return {"sku": request["sku"], "available": store.available(request["sku"])}
    if service == "payment":
        if operation == "charge":
            return charge(store, request, decline=decline)
        return {"refund_id": refund(store, request["charge_id"])}
    if service == "shipping":
        return create_shipment(store)
    if service == "warehouse":
        return {"dispatch_id": store.next_id("dp")}
    if service == "email":
        return {"message_id": store.next_id("msg")}
    raise ServiceRejected(f"no rules for {service}.{operation}")


def reserve(store: ShopStore, order_id: str, items: list[LineItem]) -> Reservation:
    """Reserve what is in stock, line by line (a line may be reserved in part)."""
    reserved: list[LineItem] = []
    back_ordered: list[LineItem] = []
    for item in items:
        on_hand = store.available(item["sku"])
        taken = min(on_hand, item["quantity"])
        if taken:
            store.set_available(item["sku"], on_hand - taken)
            reserved.append({"sku": item["sku"], "quantity": taken})
        if taken < item["quantity"]:
            back_ordered.append({"sku": item["sku"], "quantity": item["quantity"] - taken})
    reservation_id = store.next_id("res")
    store.put("reservation", reservation_id, {"order_id": order_id, "items": reserved, "released": False})
    return {"reservation_id": reservation_id, "reserved": reserved, "back_ordered": back_ordered}


def release(store: ShopStore, reservation_id: str) -> list[LineItem]:
    """Return a reservation's items to stock; releasing twice returns nothing more."""
    record = store.get("reservation", reservation_id)
    if record is None:
        raise ServiceRejected(f"inventory.release: no reservation {reservation_id!r}")
    if record["released"]:
        return []
    for item in record["items"]:
        store.set_available(item["sku"], store.available(item["sku"]) + item["quantity"])
    store.put("reservation", reservation_id, {**record, "released": True})
    items: list[LineItem] = record["items"]
    return items


def charge(store: ShopStore, request: dict[str, Any], *, decline: bool) -> Charge:
    method = request["payment_method"]
    if decline or method == DECLINED_METHOD:
        raise ServiceRejected(f"declined: payment method {method!r} was refused")
    charge_id = store.next_id("ch")
    store.put("charge", charge_id, {"amount_cents": request["amount_cents"], "refunded": False})
    return {"charge_id": charge_id, "amount_cents": request["amount_cents"]}


def refund(store: ShopStore, charge_id: str) -> str:
    record = store.get("charge", charge_id)
    if record is None:
        raise ServiceRejected(f"payment.refund: no charge {charge_id!r}")
    if record["refunded"]:
        raise ServiceRejected(f"payment.refund: charge {charge_id!r} was refunded already")
    store.put("charge", charge_id, {**record, "refunded": True})
    return store.next_id("re")


def create_shipment(store: ShopStore) -> Shipment:
    shipment_id = store.next_id("sh")
    number = shipment_id.split("-", 1)[1]
    return {"shipment_id": shipment_id, "tracking_number": f"TRK{int(number):08d}"}
