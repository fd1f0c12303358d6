"""The local ledger service: a real deduplicating service for golemsim's tests and CLI."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from golemsim import LedgerRegistry, LedgerService


def test_the_ledger_applies_concurrent_repeats_of_a_key_once(tmp_path: Path) -> None:
    def slow(service: str, operation: str, payload: Any) -> Any:
        time.sleep(0.05)
        return payload

    ledger = LedgerService(tmp_path / "ledger.db", name="payment", behaviour=slow)
    threads = [threading.Thread(target=ledger.handle, args=("charge", 10, "same-key")) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ledger.received()) == 5
    assert len(ledger.applied()) == 1
    assert ledger._key_locks == {}  # a long-running service keeps no lock per key it ever saw


def test_without_dedupe_every_repeat_is_applied(tmp_path: Path) -> None:
    ledger = LedgerService(tmp_path / "ledger.db", name="payment", dedupe=False)
    for _ in range(3):
        ledger.handle("charge", 10, "same-key")
    assert len(ledger.applied()) == 3


def test_a_registry_serves_every_name_from_one_ledger(tmp_path: Path) -> None:
    registry = LedgerRegistry(tmp_path / "ledger.db")
    assert registry.get("email").handle("send", {"to": "a"}, "k1")["service"] == "email"
    registry.get("payment").handle("charge", 5, "k1")
    assert [(s, o) for s, o, _, _ in registry.ledger.applied()] == [("email", "send"), ("payment", "charge")]
