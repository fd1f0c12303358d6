"""The apps golemsim ships, by name: ``app: checkout`` in an experiment file is short for the
mapping form naming their files: the templates and API definition in golemsim's templates folder,
the workload in golemsim.sim.workloads and the invariants in golemsim.sim.invariants. The runner
never sees a name, only the files (``AppFiles``), so a shipped app runs exactly as a user's does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import BadRequest
from ..locations import templates_dir
from .user_app import AppFiles, Reference


@dataclass(frozen=True)
class ShippedApp:
    templates: tuple[str, ...]
    """Template folders under templates/, each deployed under its folder's name."""
    api: str
    """The API definition file under templates/."""
    workload: str
    """A Workload subclass in golemsim.sim.workloads."""
    invariants: tuple[str, ...] = ()
    """Functions in golemsim.sim.invariants."""


SHOP = ("stock_never_negative", "orders_consistent")
SHIPPED_APPS: dict[str, ShippedApp] = {
    "counter": ShippedApp(("counter",), "counter.api.yaml", "CounterWorkload"),
    "checkout": ShippedApp(("checkout",), "shop.api.yaml", "CheckoutWorkload", SHOP),
    "shopping-cart": ShippedApp(
        ("shopping-cart", "checkout"), "shop.api.yaml", "CartWorkload", (*SHOP, "carts_conserve_items")
    ),
    "auction": ShippedApp(("auction",), "shop.api.yaml", "AuctionWorkload", ("auctions_charged_once",)),
    "bank": ShippedApp(("bank",), "bank.api.yaml", "BankWorkload", ("bank_conserves_money",)),
}


def shipped_app(name: str) -> AppFiles:
    """The files of the shipped app ``name``; BadRequest naming the known ones otherwise."""
    app = SHIPPED_APPS.get(name)
    if app is None:
        known = ", ".join(sorted(SHIPPED_APPS))
        raise BadRequest(f"unknown app {name!r} (known: {known}; or name your own app's files)")
    folder = templates_dir()
    return AppFiles(
        {template: folder / template for template in app.templates},
        folder / app.api,
        Reference(None, app.workload, module="golemsim.sim.workloads"),
        tuple(Reference(None, invariant, module="golemsim.sim.invariants") for invariant in app.invariants),
    )
