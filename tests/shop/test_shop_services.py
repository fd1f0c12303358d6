"""The shop's real local services: business rules, deduplication, failure switches."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from golemsim.core.services import ServiceRejected, ServiceUnavailable
from golemsim.shop import ShopFailures, ShopServices


@pytest.fixture
def shop(tmp_path: Path) -> ShopServices:
    return ShopServices(tmp_path / "shop.db", stock={"apple": 3, "pear": 0})


def call(shop: ShopServices, service: str, operation: str, payload: object, key: str) -> object:
    return shop.get(service).handle(operation, payload, key)


def test_reserve_takes_what_is_in_stock_and_back_orders_the_rest(shop: ShopServices) -> None:
    items = [{"sku": "apple", "quantity": 5}, {"sku": "pear", "quantity": 1}]
    answer = call(shop, "inventory", "reserve", {"order_id": "o1", "items": items}, "k1")
    assert answer == {
        "reservation_id": "res-1",
        "reserved": [{"sku": "apple", "quantity": 3}],
        "back_ordered": [{"sku": "apple", "quantity": 2}, {"sku": "pear", "quantity": 1}],
    }
    assert shop.stock("apple") == 0
    assert call(shop, "inventory", "release", {"reservation_id": "res-1"}, "k2") == {
        "released": [{"sku": "apple", "quantity": 3}]
    }
    assert shop.stock("apple") == 3
    assert call(shop, "inventory", "release", {"reservation_id": "res-1"}, "k3") == {"released": []}


def test_a_repeated_key_gets_the_first_answer_and_applies_once(shop: ShopServices) -> None:
    payload = {"payment_method": "visa", "amount_cents": 500, "currency": "EUR", "reference": "o1"}
    first = call(shop, "payment", "charge", payload, "same")
    assert call(shop, "payment", "charge", payload, "same") == first
    assert len(shop.effects("payment", "charge")) == 1
    assert [r["outcome"] for r in shop.requests("payment")] == ["applied", "repeat"]


def test_without_dedupe_a_repeat_charges_twice(tmp_path: Path) -> None:
    shop = ShopServices(tmp_path / "shop.db", dedupe=False)
    payload = {"payment_method": "visa", "amount_cents": 500, "currency": "EUR", "reference": "o1"}
    call(shop, "payment", "charge", payload, "same")
    call(shop, "payment", "charge", payload, "same")
    assert len(shop.effects("payment", "charge")) == 2


def test_declines_are_refusals_and_a_repeat_is_refused_again(shop: ShopServices) -> None:
    payload = {"payment_method": "card-declined", "amount_cents": 500, "currency": "EUR", "reference": "o1"}
    for _ in range(2):
        with pytest.raises(ServiceRejected, match="declined"):
            call(shop, "payment", "charge", payload, "k")
    shop.failures.decline_payments = True
    with pytest.raises(ServiceRejected, match="declined"):
        call(shop, "payment", "charge", {**payload, "payment_method": "visa"}, "k2")
    assert shop.effects("payment") == []


def test_a_timeout_applies_the_request_and_the_retry_gets_its_answer(tmp_path: Path) -> None:
    shop = ShopServices(tmp_path / "shop.db", failures=ShopFailures(timeouts={"shipping": 1}))
    payload = {"order_id": "o1", "address": {}, "items": [{"sku": "a", "quantity": 1}]}
    with pytest.raises(ServiceUnavailable, match="timed out"):
        call(shop, "shipping", "create-shipment", payload, "k")
    answer = call(shop, "shipping", "create-shipment", payload, "k")
    assert answer == {"shipment_id": "sh-1", "tracking_number": "TRK00000001"}
    assert len(shop.effects("shipping")) == 1


def test_a_slow_service_answers_late(tmp_path: Path) -> None:
    shop = ShopServices(tmp_path / "shop.db", failures=ShopFailures(delays={"email": 0.2}))
    started = time.monotonic()
    call(shop, "email", "send", {"to": "a@b", "subject": "s", "body": "b"}, "k")
    assert time.monotonic() - started >= 0.2


def test_an_unavailable_service_applies_nothing(shop: ShopServices) -> None:
    shop.failures.unavailable.add("email")
    with pytest.raises(ServiceUnavailable):
        call(shop, "email", "send", {"to": "a@b", "subject": "s", "body": "b"}, "k")
    assert shop.effects("email") == []


@pytest.mark.parametrize(
    ("service", "operation", "payload", "message"),
    [
        ("payment", "charge", {"payment_method": "v", "amount_cents": "5", "currency": "E", "reference": "r"}, "int"),
        (
            "payment",
            "charge",
            {"payment_method": "v", "amount_cents": 0, "currency": "E", "reference": "r"},
            "positive",
        ),
        ("inventory", "reserve", {"order_id": "o", "items": [{"sku": "a", "quantity": 0}]}, r"items\[0\]"),
        ("inventory", "teleport", {}, "no operation 'teleport'"),
        ("email", "send", ["not", "an", "object"], "JSON object"),
    ],
)
def test_bad_requests_are_refused_with_what_is_wrong(
    shop: ShopServices, service: str, operation: str, payload: object, message: str
) -> None:
    with pytest.raises(ServiceRejected, match=message):
        call(shop, service, operation, payload, "k")
    assert shop.effects() == []


def test_other_service_names_fall_back_to_the_echoing_ledger(shop: ShopServices) -> None:
    answer = call(shop, "ledger", "note", {"x": 1}, "k")
    assert answer["payload"] == {"x": 1}
    assert shop.generic.applied("k") == [("ledger", "note", "k", {"x": 1})]


def test_state_survives_reopening_the_file(tmp_path: Path) -> None:
    shop = ShopServices(tmp_path / "shop.db", stock={"apple": 2})
    call(shop, "inventory", "reserve", {"order_id": "o", "items": [{"sku": "apple", "quantity": 1}]}, "k")
    shop.close()
    again = ShopServices(tmp_path / "shop.db")
    assert again.stock("apple") == 1
    assert len(again.effects("inventory")) == 1
