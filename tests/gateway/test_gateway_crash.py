"""A `golemsim serve` process SIGKILLed in the middle of a checkout, restarted: the checkout
completes and every external effect is in the services' ledger exactly once."""

from __future__ import annotations

import http.client
import signal
import threading
import time
from pathlib import Path

import pytest
from support import CHECKOUT_STEPS, CHILDREN, LAMP_ORDER, SHOP_API, ServeProcess

from golemsim.shop import ShopServices


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_checkout_killed_mid_way_completes_after_restart_with_each_effect_once(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    ledger = ShopServices(tmp_path / "shop.db-services.db", stock={"lamp": 5})  # the server's ledger file
    headers = {"Idempotency-Key": "checkout-killed-1"}

    first = ServeProcess(SHOP_API, db, "--services", "shop_factories:slow_shipping", python_path=CHILDREN)
    lost: list[BaseException] = []

    def client() -> None:
        try:
            first.request("POST", "/checkout", LAMP_ORDER, headers=headers)
        except (ConnectionError, http.client.HTTPException) as error:
            lost.append(error)  # the server died under the request: expected

    caller = threading.Thread(target=client, daemon=True)
    caller.start()
    # Reserved and charged; the shipper takes a minute: kill the server while it waits.
    wait_until(lambda: len(ledger.effects("payment", "charge")) == 1, 120, "the charge")
    time.sleep(0.5)
    first.process.send_signal(signal.SIGKILL)
    assert first.stop(timeout=30) == -signal.SIGKILL
    caller.join(30)
    assert lost, "the request should have been cut off by the kill"
    assert ledger.effects("shipping") == []  # killed before shipping

    second = ServeProcess(SHOP_API, db)  # normal shipping now
    try:
        # The retry with the same key reaches the same worker; 503 while it is recovering.
        deadline = time.monotonic() + 120
        while True:
            reply = second.request("POST", "/checkout", LAMP_ORDER, headers=headers)
            if reply.status != 503 or time.monotonic() > deadline:
                break
            time.sleep(float(reply.header("Retry-After") or 1) / 4)
        assert reply.status == 201, reply.body
        result = reply.body
    finally:
        assert second.stop() == 0, second.stderr()

    for service, operation in CHECKOUT_STEPS:
        effects = ledger.effects(service, operation)
        assert len(effects) == 1, f"{service}.{operation} applied {len(effects)} times"
    assert result["charged-cents"] == 3000
    assert result["tracking-number"] == ledger.effects("shipping")[0]["answer"]["tracking_number"]
    assert result["tracking-number"] in ledger.effects("email")[0]["payload"]["body"]
    assert ledger.stock("lamp") == 3
