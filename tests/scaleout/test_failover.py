"""SIGKILL one of two `golemsim serve` processes under load, on a real PostgreSQL database: its
shards move to the survivor once their leases expire, every order the clients send completes
(the clients retry with the same key against the survivor), and each external effect of each
order is in the shop's ledger exactly once."""

from __future__ import annotations

import http.client
import itertools
import signal
import threading
import time
from pathlib import Path

import pytest
from support import CHECKOUT_STEPS, CHILDREN, LAMP_ORDER, SHOP_API, ServeProcess
from support.several_serves import SHARDS, owners, serving, wait_for_split

from golemsim.shop import ShopServices

ORDERS = 30
LEASE_SECONDS = 2.0


def check_out(order: int, processes: list[ServeProcess], answers: dict[int, dict[str, object]]) -> None:
    """Send one order until it is answered 201, to each process in turn, always with the same key."""
    headers = {"Idempotency-Key": f"order-{order}"}
    deadline = time.monotonic() + 180
    for attempt in itertools.count():
        process = processes[(order + attempt) % len(processes)]
        try:
            reply = process.request("POST", "/checkout", LAMP_ORDER, headers=headers)
            if reply.status == 201:
                answers[order] = reply.body
                return
        except (OSError, http.client.HTTPException):
            pass  # that process is dead, or died under the request
        assert time.monotonic() < deadline, f"order {order} never completed"
        time.sleep(0.2)


@pytest.mark.slow
def test_sigkill_one_of_two_processes_under_load_loses_nothing_and_repeats_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    ledger = ShopServices(postgres_url, stock={"lamp": 1000})
    extra = ("--services", "shop_factories:steady_shipping", "--lease-seconds", str(LEASE_SECONDS))
    with serving(SHOP_API, postgres_url, 2, tmp_path, *extra, python_path=CHILDREN) as (victim, survivor):
        wait_for_split(postgres_url, [victim, survivor])
        answers: dict[int, dict[str, object]] = {}
        orders = iter(range(ORDERS))
        lock = threading.Lock()

        def client() -> None:
            while True:
                with lock:
                    order = next(orders, None)
                if order is None:
                    return
                check_out(order, [victim, survivor], answers)

        clients = [threading.Thread(target=client, daemon=True) for _ in range(6)]
        for thread in clients:
            thread.start()
        while len(answers) < 8:
            time.sleep(0.05)
        acknowledged_before = dict(answers)
        victim.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        assert victim.stop(timeout=30) == -signal.SIGKILL

        # Its shards move once their leases expire (at most LEASE_SECONDS after its last heartbeat).
        while set(owners(postgres_url).values()) != {survivor.url} or len(owners(postgres_url)) != SHARDS:
            assert time.monotonic() - killed_at < 60, "the survivor did not take the shards over"
            time.sleep(0.05)
        print(f"shards moved {time.monotonic() - killed_at:.2f} s after the kill (leases of {LEASE_SECONDS:g} s)")

        for thread in clients:
            thread.join(240)
        assert sorted(answers) == list(range(ORDERS))

        for order, answer in acknowledged_before.items():  # acknowledged before the kill: kept
            status = survivor.request("GET", f"/orders/{answer['order-id']}")
            assert status.status == 200, status.body
            assert answers[order] == answer

    for service, operation in CHECKOUT_STEPS:
        keys = [effect["key"] for effect in ledger.effects(service, operation)]
        assert len(keys) == ORDERS and len(set(keys)) == ORDERS, f"{service}.{operation}: {len(keys)} effects"
    assert ledger.stock("lamp") == 1000 - 2 * ORDERS
    tracking = {answer["tracking-number"] for answer in answers.values()}
    assert tracking == {effect["answer"]["tracking_number"] for effect in ledger.effects("shipping")}
