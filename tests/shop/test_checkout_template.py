"""The checkout template against the shop's services: real build, real wasmtime, real SQLite."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import CHECKOUT_STEPS

from golemsim import Executor, RetryPolicy
from golemsim.shop import ShopServices

ADDRESS = {"name": "Ada", "street": "1 Main St", "city": "Delft", "postcode": "2611", "country": "NL"}


def _order(items: list[tuple[str, int, int]], payment_method: str = "card-ok") -> dict[str, Any]:
    return {
        "email": "ada@example.com",
        "items": [{"sku": sku, "quantity": n, "unit-price-cents": price} for sku, n, price in items],
        "payment-method": payment_method,
        "address": ADDRESS,
        "currency": "EUR",
    }


CART = _order([("sku-1", 2, 1250), ("sku-2", 3, 400)])


@pytest.fixture
def shop(tmp_path: Path) -> ShopServices:
    return ShopServices(tmp_path / "shop.db", stock={"sku-1": 5, "sku-2": 5})


def _open(tmp_path: Path, shop: ShopServices, wasm: Path, retry: RetryPolicy | None = None) -> Executor:
    ex = Executor.open(tmp_path / "golem.db", services=shop, retry=retry)
    ex.deploy(wasm, name="checkout")
    return ex


@pytest.fixture
def shop_executor(tmp_path: Path, shop: ShopServices, checkout_wasm: Path) -> Iterator[Executor]:
    with _open(tmp_path, shop, checkout_wasm) as ex:
        yield ex


def _run(ex: Executor, worker: str, order: dict[str, Any]) -> Any:
    return ex.invoke("checkout", worker, "run", [order])


def _steps(shop: ShopServices) -> list[tuple[str, str]]:
    return [(effect["service"], effect["operation"]) for effect in shop.effects()]


def test_happy_path_does_every_step_once(shop_executor: Executor, shop: ShopServices) -> None:
    assert shop_executor.invoke("checkout", "order-1", "status") == {"step": "new", "result": None, "error": None}
    result = _run(shop_executor, "order-1", CART)["ok"]
    assert result["order-id"] == "order-1"
    assert result["charged-cents"] == 2 * 1250 + 3 * 400
    assert result["shipped"] == CART["items"]
    assert (result["back-ordered"], result["back-order-id"]) == ([], None)

    assert _steps(shop) == CHECKOUT_STEPS
    keys = [effect["key"] for effect in shop.effects()]
    assert len(set(keys)) == len(keys)  # one explicit key per call
    [charge] = shop.effects("payment", "charge")
    assert charge["payload"]["amount_cents"] == result["charged-cents"]
    assert charge["answer"]["charge_id"] == result["charge-id"]
    [email] = shop.effects("email", "send")
    assert email["payload"]["to"] == "ada@example.com"
    assert result["tracking-number"] in email["payload"]["body"]
    assert (shop.stock("sku-1"), shop.stock("sku-2")) == (3, 2)
    assert shop_executor.invoke("checkout", "order-1", "status") == {"step": "done", "result": result, "error": None}


def test_a_second_run_returns_the_first_outcome_and_charges_nothing(
    shop_executor: Executor, shop: ShopServices
) -> None:
    first = _run(shop_executor, "order-1", CART)
    assert _run(shop_executor, "order-1", CART) == first
    other = _order([("sku-1", 1, 1250)])
    assert "invalid-order" in _run(shop_executor, "order-1", other)["err"]
    assert _steps(shop) == CHECKOUT_STEPS


def test_a_partly_stocked_cart_ships_what_there_is_and_back_orders_the_rest(
    shop_executor: Executor, shop: ShopServices
) -> None:
    shop.set_stock("sku-2", 1)
    result = _run(shop_executor, "order-1", CART)["ok"]
    assert result["shipped"] == _order([("sku-1", 2, 1250), ("sku-2", 1, 400)])["items"]
    assert result["back-ordered"] == _order([("sku-2", 2, 400)])["items"]
    assert result["back-order-id"] == "order-1-backorder"  # derived from the order id, not drawn at random
    assert result["charged-cents"] == 2 * 1250 + 1 * 400  # only the reserved part is charged
    assert _steps(shop) == CHECKOUT_STEPS
    [shipment] = shop.effects("shipping", "create-shipment")
    assert shipment["payload"]["items"] == [{"sku": "sku-1", "quantity": 2}, {"sku": "sku-2", "quantity": 1}]
    [email] = shop.effects("email", "send")
    assert result["back-order-id"] in email["payload"]["body"]
    assert shop.stock("sku-2") == 0


def test_nothing_in_stock_fails_without_charging(shop_executor: Executor, shop: ShopServices) -> None:
    shop.set_stock("sku-1", 0)
    shop.set_stock("sku-2", 0)
    assert _run(shop_executor, "order-1", CART) == {"err": "out-of-stock"}
    assert _steps(shop) == [("inventory", "reserve")]
    status = shop_executor.invoke("checkout", "order-1", "status")
    assert status == {"step": "reserving", "result": None, "error": "out-of-stock"}


@pytest.mark.parametrize(
    ("items", "reason"),
    [([], "no items"), ([("sku-1", 2, 1250), ("sku-2", 0, 400)], "sku-2")],
)
def test_an_invalid_order_touches_no_service(
    shop_executor: Executor, shop: ShopServices, items: list[tuple[str, int, int]], reason: str
) -> None:
    error = _run(shop_executor, "order-1", _order(items))["err"]
    assert reason in error["invalid-order"]
    assert shop.effects() == []


def test_a_declined_payment_releases_the_reservation_and_ships_nothing(
    shop_executor: Executor, shop: ShopServices
) -> None:
    outcome = _run(shop_executor, "order-1", _order([("sku-1", 2, 1250)], payment_method="card-declined"))
    assert outcome["err"]["payment-declined"].startswith("declined")
    assert _steps(shop) == [("inventory", "reserve"), ("inventory", "release")]
    [reserve] = shop.effects("inventory", "reserve")
    [release] = shop.effects("inventory", "release")
    assert release["payload"]["reservation_id"] == reserve["answer"]["reservation_id"]
    assert shop.stock("sku-1") == 5
    status = shop_executor.invoke("checkout", "order-1", "status")
    assert (status["step"], status["error"]) == ("charging", outcome["err"])

    shop.failures.decline_payments = True  # the ledger's switch declines any payment method
    assert "payment-declined" in _run(shop_executor, "order-2", CART)["err"]
    assert (shop.stock("sku-1"), shop.stock("sku-2")) == (5, 5)


def test_a_shipping_timeout_still_makes_one_shipment(shop_executor: Executor, shop: ShopServices) -> None:
    shop.failures.timeouts["shipping"] = 1  # applied, then answered "timed out"; golemsim retries with the key
    result = _run(shop_executor, "order-1", CART)["ok"]
    assert _steps(shop) == CHECKOUT_STEPS
    [shipment] = shop.effects("shipping", "create-shipment")
    assert shipment["answer"]["tracking_number"] == result["tracking-number"]
    errors = [entry for _, entry in shop_executor.oplog("checkout/order-1") if entry.kind == "error"]
    assert len(errors) == 1  # the timeout did happen, and was retried once


def test_shipping_that_stays_down_refunds_and_releases(tmp_path: Path, shop: ShopServices, checkout_wasm: Path) -> None:
    shop.failures.timeouts["shipping"] = 100
    with _open(tmp_path, shop, checkout_wasm, retry=RetryPolicy(max_attempts=2, initial_delay=0.01)) as ex:
        outcome = _run(ex, "order-1", CART)
    assert outcome["err"]["unavailable"].startswith("shipping")
    assert _steps(shop) == [*CHECKOUT_STEPS[:3], ("payment", "refund"), ("inventory", "release")]
    [charge] = shop.effects("payment", "charge")
    [refund] = shop.effects("payment", "refund")
    assert refund["payload"]["charge_id"] == charge["answer"]["charge_id"]
    assert (shop.stock("sku-1"), shop.stock("sku-2")) == (5, 5)


def test_a_restarted_worker_replays_to_the_same_state_without_new_effects(
    shop_executor: Executor, shop: ShopServices
) -> None:
    shop.set_stock("sku-2", 1)
    outcome = _run(shop_executor, "order-1", CART)
    status = shop_executor.invoke("checkout", "order-1", "status")
    effects = shop.effects()

    assert shop_executor.restart_worker("checkout/order-1") == 2
    assert shop_executor.invoke("checkout", "order-1", "status") == status
    assert _run(shop_executor, "order-1", CART) == outcome
    assert shop.effects() == effects


def test_a_reopened_database_replays_to_the_same_status(
    tmp_path: Path, shop: ShopServices, checkout_wasm: Path
) -> None:
    with _open(tmp_path, shop, checkout_wasm) as ex:
        outcome = _run(ex, "order-1", CART)
        declined = _run(ex, "order-2", _order([("sku-1", 1, 1250)], payment_method="card-declined"))
        statuses = [ex.invoke("checkout", worker, "status") for worker in ("order-1", "order-2")]
    effects = shop.effects()

    reopened = ShopServices(tmp_path / "shop.db")  # the services' own state is in their SQLite file
    with _open(tmp_path, reopened, checkout_wasm) as ex:
        assert [ex.invoke("checkout", worker, "status") for worker in ("order-1", "order-2")] == statuses
        assert _run(ex, "order-1", CART) == outcome
        assert _run(ex, "order-2", _order([("sku-1", 1, 1250)], payment_method="card-declined")) == declined
    assert reopened.effects() == effects


# An executor in a child process, killed with SIGKILL after shipping applied a request but
# before its answer reached golemsim (the gate file holds the answer back, outside golemsim).
CHILD = """
import json, sys, time
from pathlib import Path
from golemsim import Executor
from golemsim.shop import ShopServices

db, shop_db, wasm, order = sys.argv[1:5]
shop = ShopServices(shop_db)
gate = Path(shop_db + ".hold")


class HoldShipping:
    def handle(self, operation, payload, key):
        answer = shop.handle("shipping", operation, payload, key)
        while gate.exists():
            time.sleep(0.01)
        return answer


shop.register("shipping", HoldShipping())
with Executor.open(db, services=shop) as ex:
    ex.deploy(Path(wasm), name="checkout")
    print(json.dumps(ex.invoke("checkout", "order-1", "run", [json.loads(order)], idempotency_key="run-1")))
"""


def test_a_killed_executor_resumes_the_checkout_without_a_second_charge_or_shipment(
    tmp_path: Path, shop: ShopServices, checkout_wasm: Path
) -> None:
    args = [
        sys.executable,
        "-c",
        CHILD,
        str(tmp_path / "golem.db"),
        str(shop.path),
        str(checkout_wasm),
        json.dumps(CART),
    ]
    gate = Path(f"{shop.path}.hold")
    gate.touch()
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not shop.effects("shipping"):
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the child executor never reached shipping:\n{child.communicate()[1]}")
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    # reserved, charged, shipment booked; golemsim never saw the tracking number
    assert _steps(shop) == CHECKOUT_STEPS[:3]

    gate.unlink()
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["ok"]
    # each step once: the charge was not repeated, the shipment was sent again ...
    assert _steps(shop) == CHECKOUT_STEPS
    outcomes = [(request["outcome"], request["key"]) for request in shop.requests("shipping")]
    assert [outcome for outcome, _ in outcomes] == ["applied", "repeat"]  # ... with the same key
    assert outcomes[0][1] == outcomes[1][1]
    [shipment] = shop.effects("shipping")
    assert result["tracking-number"] == shipment["answer"]["tracking_number"]
