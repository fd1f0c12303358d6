"""The shop: external services for the checkout, shopping-cart and auction templates."""

from .contracts import OPERATIONS, SERVICES, Charge, LineItem, Operation, Reservation, Shipment, validate
from .ledger import ShopFailures, ShopServices
from .rules import DECLINED_METHOD, ShopStore

__all__ = [
    "DECLINED_METHOD",
    "OPERATIONS",
    "SERVICES",
    "Charge",
    "LineItem",
    "Operation",
    "Reservation",
    "Shipment",
    "ShopFailures",
    "ShopServices",
    "ShopStore",
    "validate",
]
