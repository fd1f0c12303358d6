"""The shopping-cart template: its functions, the exactly-once merge at login, and checkout.

Real builds, real wasmtime, real SQLite oplogs in tmp_path.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import SHOPPING_CART

from golemsim import Executor
from golemsim.shop import ShopServices

ADDRESS = {"name": "Ada", "street": "1 Loop Lane", "city": "Bristol", "postcode": "BS1", "country": "GB"}


def item(sku: str, quantity: int, price: int = 250) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "unit-price-cents": price}


def take_alls(ex: Executor, worker: str) -> int:
    """How many take-all invocations the worker's oplog shows as started."""
    return sum(
        1 for _, entry in ex.oplog(worker) if entry.kind == "invocation-started" and entry.function == "take-all"
    )


@pytest.fixture
def carts(tmp_path: Path, cart_wasm: Path) -> Iterator[Executor]:
    ex = Executor.open(tmp_path / "golem.db")
    ex.deploy(cart_wasm, name="shopping-cart")
    yield ex
    ex.close()


def cart(ex: Executor, worker: str, function: str, *args: Any, key: str | None = None) -> Any:
    return ex.invoke("shopping-cart", worker, function, list(args), idempotency_key=key)


def test_add_item_adds_up_quantities_of_a_sku(carts: Executor) -> None:
    assert cart(carts, "user-1", "add-item", item("sku-1", 2)) == {"ok": [item("sku-1", 2)]}
    cart(carts, "user-1", "add-item", item("sku-2", 1, 900))
    assert cart(carts, "user-1", "add-item", item("sku-1", 3, 200)) == {
        "ok": [item("sku-1", 5, 200), item("sku-2", 1, 900)]
    }
    assert cart(carts, "user-1", "get-cart") == [item("sku-1", 5, 200), item("sku-2", 1, 900)]
    assert cart(carts, "user-2", "get-cart") == []


def test_remove_item_lowers_the_quantity_or_removes_the_line(carts: Executor) -> None:
    cart(carts, "user-1", "add-item", item("sku-1", 5))
    cart(carts, "user-1", "add-item", item("sku-2", 1))
    assert cart(carts, "user-1", "remove-item", "sku-1", 2) == {"ok": [item("sku-1", 3), item("sku-2", 1)]}
    assert cart(carts, "user-1", "remove-item", "sku-1", 10) == {"ok": [item("sku-2", 1)]}
    assert cart(carts, "user-1", "remove-item", "sku-2", 1) == {"ok": []}


def test_bad_quantities_and_unknown_skus_are_typed_errors(carts: Executor) -> None:
    cart(carts, "user-1", "add-item", item("sku-1", 2))
    assert cart(carts, "user-1", "add-item", item("sku-2", 0)) == {"err": {"zero-quantity": "sku-2"}}
    assert cart(carts, "user-1", "remove-item", "sku-1", 0) == {"err": {"zero-quantity": "sku-1"}}
    assert cart(carts, "user-1", "remove-item", "sku-9", 1) == {"err": {"unknown-sku": "sku-9"}}
    assert cart(carts, "user-1", "get-cart") == [item("sku-1", 2)]


def test_clear_and_take_all_empty_the_cart(carts: Executor) -> None:
    cart(carts, "anon-phone", "add-item", item("sku-1", 2))
    assert cart(carts, "anon-phone", "clear") is None
    assert cart(carts, "anon-phone", "get-cart") == []
    cart(carts, "anon-phone", "add-item", item("sku-3", 1))
    assert cart(carts, "anon-phone", "take-all") == [item("sku-3", 1)]
    assert cart(carts, "anon-phone", "take-all") == []


def fill_and_merge(ex: Executor) -> Any:
    """An anonymous cart and a user's cart with a sku in common, merged at login."""
    cart(ex, "anon-phone", "add-item", item("sku-1", 2))
    cart(ex, "anon-phone", "add-item", item("sku-2", 1, 900))
    cart(ex, "user-42", "add-item", item("sku-1", 1))
    cart(ex, "user-42", "add-item", item("sku-3", 4, 100))
    return cart(ex, "user-42", "merge-from", "phone", key="login-1")


MERGED = [item("sku-1", 3), item("sku-3", 4, 100), item("sku-2", 1, 900)]


def test_merge_adds_quantities_and_empties_the_anonymous_cart(carts: Executor) -> None:
    assert fill_and_merge(carts) == {"ok": MERGED}
    assert cart(carts, "user-42", "get-cart") == MERGED
    assert cart(carts, "anon-phone", "get-cart") == []
    assert take_alls(carts, "shopping-cart/anon-phone") == 1


def test_merging_twice_is_harmless(carts: Executor) -> None:
    fill_and_merge(carts)
    # The same merge retried with its key: the first result, and take-all is not called again.
    assert cart(carts, "user-42", "merge-from", "phone", key="login-1") == {"ok": MERGED}
    assert take_alls(carts, "shopping-cart/anon-phone") == 1
    # A new merge of the emptied cart takes nothing.
    assert cart(carts, "user-42", "merge-from", "phone", key="login-2") == {"ok": MERGED}
    assert take_alls(carts, "shopping-cart/anon-phone") == 2
    assert cart(carts, "anon-phone", "get-cart") == []
    # A device that never had a cart adds nothing either.
    assert cart(carts, "user-42", "merge-from", "tablet") == {"ok": MERGED}


def test_the_merge_survives_restarts_and_reopening(tmp_path: Path, cart_wasm: Path) -> None:
    ex = Executor.open(tmp_path / "golem.db")
    try:
        ex.deploy(cart_wasm, name="shopping-cart")
        fill_and_merge(ex)
        ex.restart_worker("shopping-cart/user-42")
        ex.restart_worker("shopping-cart/anon-phone")
        assert cart(ex, "user-42", "get-cart") == MERGED
        assert cart(ex, "anon-phone", "get-cart") == []
    finally:
        ex.close()
    ex = Executor.open(tmp_path / "golem.db")
    try:
        assert cart(ex, "user-42", "get-cart") == MERGED
        assert cart(ex, "anon-phone", "get-cart") == []
        assert cart(ex, "user-42", "merge-from", "phone", key="login-1") == {"ok": MERGED}
        # Replaying the user's cart answered take-all from its oplog: the anonymous cart ran it once.
        assert take_alls(ex, "shopping-cart/anon-phone") == 1
    finally:
        ex.close()


def test_a_resent_take_all_gets_the_first_answer(carts: Executor) -> None:
    """What recovery does after a crash between sending take-all and recording its answer."""
    fill_and_merge(carts)
    calls = [entry for _, entry in carts.oplog("shopping-cart/user-42") if entry.kind == "begin-remote-write"]
    assert [call.request["function"] for call in calls] == ["take-all"]
    key = calls[0].request["key"]
    # Sent again with the same key, the anonymous cart answers what it took the first time, not [].
    assert cart(carts, "anon-phone", "take-all", key=key) == [item("sku-1", 2), item("sku-2", 1, 900)]
    assert take_alls(carts, "shopping-cart/anon-phone") == 1
    assert cart(carts, "anon-phone", "get-cart") == []


# -- checkout through the checkout template and the shop's services ----------------------------


@pytest.fixture
def shop(tmp_path: Path, cart_wasm: Path, checkout_wasm: Path) -> Iterator[tuple[Executor, ShopServices]]:
    services = ShopServices(tmp_path / "services.db", stock={"sku-1": 10, "sku-2": 10})
    ex = Executor.open(tmp_path / "golem.db", services=services)
    ex.deploy(cart_wasm, name="shopping-cart")
    ex.deploy(checkout_wasm, name="checkout")
    yield ex, services
    ex.close()


def test_checkout_charges_once_and_clears_the_cart(shop: tuple[Executor, ShopServices]) -> None:
    ex, services = shop
    cart(ex, "user-42", "add-item", item("sku-1", 2, 250))
    cart(ex, "user-42", "add-item", item("sku-2", 1, 900))
    outcome = cart(ex, "user-42", "checkout", "ada@example.com", "card-ok", ADDRESS, key="pay-1")
    assert "ok" in outcome, outcome
    result = outcome["ok"]
    assert result["charged-cents"] == 2 * 250 + 900
    assert result["shipped"] == [item("sku-1", 2, 250), item("sku-2", 1, 900)]
    assert result["back-ordered"] == []
    assert cart(ex, "user-42", "get-cart") == []
    assert services.stock("sku-1") == 8

    # Replaying the cart, and retrying the checkout with its key, charge nothing more.
    ex.restart_worker("shopping-cart/user-42")
    assert cart(ex, "user-42", "checkout", "ada@example.com", "card-ok", ADDRESS, key="pay-1") == outcome
    assert cart(ex, "user-42", "get-cart") == []
    assert len(services.effects("payment", "charge")) == 1
    # The checkout ran in a worker of its own, started by the cart.
    checkouts = [worker for worker in ex.workers() if worker.worker_id.template == "checkout"]
    assert len(checkouts) == 1


def test_what_is_out_of_stock_comes_back_back_ordered(shop: tuple[Executor, ShopServices]) -> None:
    ex, services = shop
    services.set_stock("sku-1", 1)
    cart(ex, "user-42", "add-item", item("sku-1", 3, 250))
    outcome = cart(ex, "user-42", "checkout", "ada@example.com", "card-ok", ADDRESS)
    assert "ok" in outcome, outcome
    result = outcome["ok"]
    assert (result["shipped"], result["back-ordered"]) == ([item("sku-1", 1, 250)], [item("sku-1", 2, 250)])
    assert result["charged-cents"] == 250
    assert result["back-order-id"] is not None
    assert cart(ex, "user-42", "get-cart") == []


def test_a_declined_payment_keeps_the_cart(shop: tuple[Executor, ShopServices]) -> None:
    ex, services = shop
    cart(ex, "user-42", "add-item", item("sku-1", 2, 250))
    outcome = cart(ex, "user-42", "checkout", "ada@example.com", "card-declined", ADDRESS)
    assert list(outcome) == ["err"]
    assert list(outcome["err"]) == ["checkout-failed"]
    assert list(outcome["err"]["checkout-failed"]) == ["payment-declined"]
    assert cart(ex, "user-42", "get-cart") == [item("sku-1", 2, 250)]
    assert services.effects("payment", "charge") == []
    assert services.stock("sku-1") == 10  # the checkout released its reservation


def test_an_empty_cart_is_not_checked_out(shop: tuple[Executor, ShopServices]) -> None:
    ex, _services = shop
    assert cart(ex, "user-42", "checkout", "ada@example.com", "card-ok", ADDRESS) == {"err": "empty-cart"}
    assert [worker for worker in ex.workers() if worker.worker_id.template == "checkout"] == []


def test_nothing_in_stock_keeps_the_cart(shop: tuple[Executor, ShopServices]) -> None:
    ex, services = shop
    services.set_stock("sku-1", 0)
    cart(ex, "user-42", "add-item", item("sku-1", 1))
    outcome = cart(ex, "user-42", "checkout", "ada@example.com", "card-ok", ADDRESS)
    assert outcome == {"err": {"checkout-failed": "out-of-stock"}}
    assert cart(ex, "user-42", "get-cart") == [item("sku-1", 1)]


def test_a_long_lived_cart_recovers_from_its_snapshot(tmp_path: Path, cart_wasm: Path) -> None:
    folder = SHOPPING_CART
    db = tmp_path / "golem.db"
    with Executor.open(db) as ex:
        ex.deploy(folder)  # the folder's golemsim.toml snapshots every 20 invocations
        for n in range(25):
            cart(ex, "user-9", "add-item", item(f"sku-{n % 3}", 1))
    with Executor.open(db) as ex:
        assert cart(ex, "user-9", "get-cart") == [item("sku-0", 9), item("sku-1", 8), item("sku-2", 8)]
        info = ex.recovery_info("shopping-cart/user-9")
        assert info is not None and info.mode == "snapshot" and info.invocations == 5
