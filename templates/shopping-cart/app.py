"""The shopping-cart template: one durable cart per user ("user-<id>") or device ("anon-<device>").

The cart lives in the guest's memory only; golemsim rebuilds it after a crash by replaying
the worker's oplog. Two functions talk to other workers through the host:

* merge-from takes the anonymous cart's items with one worker-to-worker call (take-all).
  The host gives that call an idempotency key derived from this worker's history, so a
  replay or a resent call never takes twice (see README.md).
* checkout hands the cart to a new checkout worker and clears the cart only when the
  checkout succeeded.
"""

import golemsim_guest as golem
import wit_world
from componentize_py_types import Err
from wit_world import (
    CartError_CheckoutFailed,
    CartError_EmptyCart,
    CartError_UnknownSku,
    CartError_Unreachable,
    CartError_ZeroQuantity,
    CartItem,
    CheckoutResult,
    LineItem,
)

CURRENCY = "EUR"

# sku -> line, in the order the skus were first added.
_cart: dict[str, CartItem] = {}


def _add(item: CartItem) -> None:
    """Add a line: the quantities of one sku add up, and the line takes the newest price."""
    line = _cart.get(item.sku)
    quantity = item.quantity + (line.quantity if line else 0)
    _cart[item.sku] = CartItem(item.sku, quantity, item.unit_price_cents)


def _to_json(record: object) -> dict:
    """A flat WIT record as JSON: {"unit-price-cents": 250, ...}."""
    return {name.replace("_", "-"): value for name, value in vars(record).items()}


def _from_json(record_type: type, data: dict):
    """A flat JSON object as the WIT record ``record_type``."""
    return record_type(**{name.replace("-", "_"): value for name, value in data.items()})


def _checkout_error(error) -> wit_world.CheckoutError:
    """The checkout's JSON error ("out-of-stock" or {"payment-declined": "..."}) as a WIT value."""
    case, message = (error, None) if isinstance(error, str) else next(iter(error.items()))
    if case == "out-of-stock":
        return wit_world.CheckoutError_OutOfStock()
    kinds = {
        "invalid-order": wit_world.CheckoutError_InvalidOrder,
        "payment-declined": wit_world.CheckoutError_PaymentDeclined,
    }
    return kinds.get(case, wit_world.CheckoutError_Unavailable)(message)


class WitWorld(golem.Snapshots, wit_world.WitWorld):
    # Carts live long: golemsim snapshots the cart (golemsim.toml says how often), so a
    # recovery loads it and replays only the invocations since, not the cart's whole life.
    snapshot_state = ("_cart",)

    def add_item(self, item: CartItem) -> list[CartItem]:
        if item.quantity == 0:
            raise Err(CartError_ZeroQuantity(item.sku))
        _add(item)
        return self.get_cart()

    def remove_item(self, sku: str, quantity: int) -> list[CartItem]:
        if quantity == 0:
            raise Err(CartError_ZeroQuantity(sku))
        line = _cart.get(sku)
        if line is None:
            raise Err(CartError_UnknownSku(sku))
        if quantity >= line.quantity:
            del _cart[sku]
        else:
            line.quantity -= quantity
        return self.get_cart()

    def get_cart(self) -> list[CartItem]:
        return list(_cart.values())

    def clear(self) -> None:
        _cart.clear()

    def take_all(self) -> list[CartItem]:
        items = self.get_cart()
        _cart.clear()
        return items

    def merge_from(self, device_id: str) -> list[CartItem]:
        # One durable call: the host records it in this worker's oplog and gives it a key
        # derived from this worker's history, so it is sent again (after a crash) only with
        # the same key, and the anonymous cart answers a repeated key with its first answer.
        try:
            taken = golem.invoke("shopping-cart", f"anon-{device_id}", "take-all")
        except (golem.ServiceRejected, golem.ServiceUnavailable) as error:
            raise Err(CartError_Unreachable(str(error))) from None
        for item in taken:
            _add(_from_json(CartItem, item))
        return self.get_cart()

    def checkout(self, email: str, payment_method: str, address: wit_world.Address) -> CheckoutResult:
        if not _cart:
            raise Err(CartError_EmptyCart())
        order = {
            "email": email,
            "items": [_to_json(line) for line in _cart.values()],
            "payment-method": payment_method,
            "address": _to_json(address),
            "currency": CURRENCY,
        }
        # A new checkout worker per checkout; its name comes from a durable key, so a replay
        # of this invocation talks to the same worker again.
        order_worker = f"order-{golem.idempotency_key()}"
        try:
            outcome = golem.invoke("checkout", order_worker, "run", order)
        except (golem.ServiceRejected, golem.ServiceUnavailable) as error:
            raise Err(CartError_Unreachable(str(error))) from None
        if "err" in outcome:
            raise Err(CartError_CheckoutFailed(_checkout_error(outcome["err"])))
        _cart.clear()
        result = _from_json(CheckoutResult, outcome["ok"])
        result.shipped = [_from_json(LineItem, line) for line in result.shipped]
        result.back_ordered = [_from_json(LineItem, line) for line in result.back_ordered]
        return result
