"""The shop's API (templates/shop.api.yaml) served by `golemsim serve`, with the real shop templates and services."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from support import SHOP_API, ServeProcess

from golemsim.gateway import load_api_definition
from golemsim.shop import ShopServices

ADDRESS = {"name": "Ada", "street": "1 Loop St", "city": "Delft", "postcode": "2611", "country": "NL"}


def order(*items: tuple[str, int, int], payment: str = "card-ok") -> dict[str, object]:
    lines = [{"sku": sku, "quantity": n, "unit-price-cents": price} for sku, n, price in items]
    return {
        "email": "ada@example.com",
        "items": lines,
        "payment-method": payment,
        "address": ADDRESS,
        "currency": "EUR",
    }


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, ShopServices]]:
    folder = tmp_path_factory.mktemp("shop")
    server = ServeProcess(SHOP_API, folder / "shop.db")
    services = ShopServices(folder / "shop.db-services.db")  # the server's ledger file, read from here
    yield server, services
    services.close()
    assert server.stop() == 0, server.stderr()


def test_the_shop_definition_loads() -> None:
    api = load_api_definition(SHOP_API)
    assert set(api.templates) == {"checkout", "shopping-cart", "auction"}
    assert api.services == "golemsim.shop:ShopServices"


def test_checkout_once_per_idempotency_key(shop: tuple[ServeProcess, ShopServices]) -> None:
    server, services = shop
    services.set_stock("pen", 10)
    request = order(("pen", 2, 250))
    done = server.request("POST", "/checkout", request, headers={"Idempotency-Key": "checkout-1"})
    assert done.status == 201, done.body
    location = done.header("Location") or ""
    order_id = done.body["order-id"]
    assert location == f"/orders/{order_id}" and done.header("Golem-Worker") == f"checkout/{order_id}"
    assert done.body["charged-cents"] == 500 and done.body["back-ordered"] == []

    retried = server.request("POST", "/checkout", request, headers={"Idempotency-Key": "checkout-1"})
    assert (retried.status, retried.body) == (201, done.body)  # the first outcome: not run again
    charges = [e for e in services.effects("payment", "charge") if e["payload"]["reference"] == order_id]
    assert len(charges) == 1 and services.stock("pen") == 8

    status = server.request("GET", location)
    assert status.status == 200 and status.body["step"] == "done" and status.body["result"] == done.body


def test_checkout_errors(shop: tuple[ServeProcess, ShopServices]) -> None:
    server, services = shop
    services.set_stock("gone", 0)
    sold_out = server.request("POST", "/checkout", order(("gone", 1, 100)))
    assert (sold_out.status, sold_out.body["error"]["kind"]) == (409, "out-of-stock")
    assert sold_out.body["error"]["value"] == "out-of-stock"

    declined = server.request("POST", "/checkout", order(("pen", 1, 250), payment="card-declined"))
    assert (declined.status, declined.body["error"]["kind"]) == (409, "payment-declined")
    assert declined.body["error"]["value"]["payment-declined"].startswith("declined")

    empty = server.request("POST", "/checkout", order())
    assert (empty.status, empty.body["error"]["kind"]) == (409, "invalid-order")

    no_address = {key: value for key, value in order(("pen", 1, 250)).items() if key != "address"}
    refused = server.request("POST", "/checkout", no_address)
    assert (refused.status, refused.body["error"]["kind"]) == (400, "bad-argument")
    assert "run(order): missing field 'address'" in refused.body["error"]["message"]


def test_carts_merge_and_checkout(shop: tuple[ServeProcess, ShopServices]) -> None:
    server, services = shop
    services.set_stock("cup", 10)
    services.set_stock("mug", 10)
    cup, mug = {"sku": "cup", "unit-price-cents": 300}, {"sku": "mug", "unit-price-cents": 450}
    assert server.request("POST", "/anon/phone-1/shopping-cart/items", {**cup, "quantity": 2}).status == 200
    assert server.request("POST", "/anon/phone-1/shopping-cart/items", {**mug, "quantity": 1}).status == 200
    assert server.request("POST", "/users/7/shopping-cart/items", {**cup, "quantity": 1}).body == [
        {**cup, "quantity": 1}
    ]

    merged = server.request("POST", "/users/7/shopping-cart/merge/phone-1", headers={"Idempotency-Key": "m1"})
    assert merged.status == 200 and merged.body == [{**cup, "quantity": 3}, {**mug, "quantity": 1}]
    again = server.request("POST", "/users/7/shopping-cart/merge/phone-1", headers={"Idempotency-Key": "m1"})
    assert again.body == merged.body  # the same key: the first answer
    assert server.request("GET", "/anon/phone-1/shopping-cart").body == []  # taken once
    once_more = server.request("POST", "/users/7/shopping-cart/merge/phone-1")
    assert once_more.body == merged.body  # a new merge finds the anonymous cart empty

    removed = server.request("DELETE", "/users/7/shopping-cart/items/cup?quantity=1")
    assert removed.body == [{**cup, "quantity": 2}, {**mug, "quantity": 1}]
    unknown = server.request("DELETE", "/users/7/shopping-cart/items/plate")
    assert (unknown.status, unknown.body["error"]["value"]) == (409, {"unknown-sku": "plate"})
    zero = server.request("POST", "/users/7/shopping-cart/items", {**cup, "quantity": 0})
    assert (zero.status, zero.body["error"]["kind"]) == (409, "zero-quantity")
    negative = server.request("DELETE", "/users/7/shopping-cart/items/cup?quantity=-1")
    assert (negative.status, negative.body["error"]["kind"]) == (400, "bad-argument")

    checkout = {"email": "u7@example.com", "payment-method": "card-ok", "address": ADDRESS}
    bought = server.request(
        "POST", "/users/7/shopping-cart/checkout", checkout, headers={"Idempotency-Key": "cart-co-1"}
    )
    assert bought.status == 201 and bought.body["charged-cents"] == 2 * 300 + 450
    assert server.request("GET", "/users/7/shopping-cart").body == []
    assert services.stock("cup") == 8 and services.stock("mug") == 9

    assert server.request("POST", "/anon/phone-2/shopping-cart/items", {**cup, "quantity": 1}).status == 200
    cleared = server.request("DELETE", "/anon/phone-2/shopping-cart")
    assert (cleared.status, cleared.text) == (204, "")
    empty = server.request("POST", "/users/8/shopping-cart/checkout", checkout)
    assert (empty.status, empty.body["error"]["kind"]) == (409, "empty-cart")


def test_auctions_bid_and_close_themselves(shop: tuple[ServeProcess, ShopServices]) -> None:
    server, services = shop
    later = int(time.time() * 1000) + 3_600_000
    opened = server.request(
        "PUT", "/auctions/vase", {"item": "vase", "reserve-price-cents": 1000, "closes-at-ms": later}
    )
    assert (opened.status, opened.header("Location")) == (201, "/auctions/vase")
    twice = server.request(
        "PUT", "/auctions/vase", {"item": "vase", "reserve-price-cents": 1000, "closes-at-ms": later}
    )
    assert (twice.status, twice.body["error"]["kind"]) == (409, "already-created")

    bid = server.request("POST", "/auctions/vase/bids", {"bidder": "bob", "amount-cents": 1500})
    assert (bid.status, bid.text) == (204, "")
    low = server.request("POST", "/auctions/vase/bids", {"bidder": "amy", "amount-cents": 1200})
    assert (low.status, low.body["error"]["kind"], low.body["error"]["value"]) == (409, "too-low", {"too-low": 1501})
    dup = server.request("POST", "/auctions/vase/bids", {"bidder": "bob", "amount-cents": 1500})
    assert dup.body["error"]["kind"] == "duplicate"
    assert [b["bidder"] for b in server.request("GET", "/auctions/vase/bids").body] == ["bob"]
    status = server.request("GET", "/auctions/vase").body
    assert status["state"] == "open" and status["highest-bid"]["amount-cents"] == 1500

    closed = server.request("POST", "/auctions/vase/close")
    assert closed.status == 200 and closed.body["winner"]["bidder"] == "bob"
    charge_id = closed.body["settlement"]["charged"]
    assert server.request("POST", "/auctions/vase/close").body == closed.body  # the same outcome
    assert [
        e["answer"]["charge_id"]
        for e in services.effects("payment", "charge")
        if e["payload"]["reference"] == "auction/vase"
    ] == [charge_id]

    soon = int(time.time() * 1000) + 1500
    fresh = {"item": "lamp", "reserve-price-cents": 100, "closes-at-ms": soon}
    made = server.request("POST", "/auctions", fresh, headers={"Idempotency-Key": "lamp-1"})
    assert made.status == 201
    lamp = made.header("Location") or ""
    assert made.header("Golem-Worker") == "auction/" + lamp.removeprefix("/auctions/")
    assert server.request("POST", "/auctions", fresh, headers={"Idempotency-Key": "lamp-1"}).status == 201
    assert server.request("POST", f"{lamp}/bids", {"bidder": "cy", "amount-cents": 200}).status == 204
    deadline = time.monotonic() + 30
    while (state := server.request("GET", lamp).body)["state"] != "closed" and time.monotonic() < deadline:
        time.sleep(0.2)  # the auction's own timer closes it
    assert state["state"] == "closed" and state["winner"]["bidder"] == "cy" and state["charge-id"]
    late = server.request("POST", f"{lamp}/bids", {"bidder": "dee", "amount-cents": 900})
    assert late.body["error"]["kind"] == "too-late"


def test_shop_openapi(shop: tuple[ServeProcess, ShopServices]) -> None:
    server, _ = shop
    doc = server.request("GET", "/openapi.json").body
    assert len(doc["paths"]) == 15  # the shop's 14 and the built-in /_golemsim/promises
    run = doc["paths"]["/checkout"]["post"]
    body = run["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["email", "items", "payment-method", "address", "currency"]
    conflict = run["responses"]["409"]["content"]["application/json"]["schema"]
    cases = conflict["properties"]["error"]["properties"]["value"]["oneOf"]
    assert {"const": "out-of-stock"} in cases
    bid = doc["paths"]["/auctions/{auction-id}/bids"]["post"]
    assert set(bid["requestBody"]["content"]["application/json"]["schema"]["required"]) == {"bidder", "amount-cents"}
    assert "204" in bid["responses"]
