"""Service factories for `golemsim serve --services shop_factories:<name>` in the tests."""

from __future__ import annotations

from pathlib import Path

from golemsim.shop import ShopFailures, ShopServices


def slow_shipping(path: Path) -> ShopServices:
    """The shop, with a shipper that takes a minute to answer (a window to kill the server in)."""
    return ShopServices(path, failures=ShopFailures(delays={"shipping": 60.0}))


def steady_shipping(path: Path | str) -> ShopServices:
    """The shop, with a shipper that takes 0.3 s (orders are in flight when a process is killed)."""
    return ShopServices(path, failures=ShopFailures(delays={"shipping": 0.3}))
