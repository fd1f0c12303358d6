"""The real local shop services: one ledger (SQLite, or PostgreSQL) that deduplicates by idempotency key.

Every request is written to ``shop_requests`` with its outcome. The first request of a
(service, key) pair is applied in the same transaction that records it, so an effect and
its record cannot part; a repeat gets the recorded answer (or refusal) back. Switches in
ShopFailures decline payments, make a service unavailable, or make its next calls time out
after they were applied (the case idempotency keys exist for).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.postgres import is_postgres_url
from ..core.services import ExternalService, LedgerService, ServiceRegistry, ServiceRejected, ServiceUnavailable
from ..core.sql_connection import SQLConnection
from . import rules
from .contracts import SERVICES


@dataclass
class ShopFailures:
    """Failure switches, changeable while the services run."""

    decline_payments: bool = False
    """Decline every charge."""
    unavailable: set[str] = field(default_factory=set)
    """Services that refuse every request before applying it (ServiceUnavailable)."""
    timeouts: dict[str, int] = field(default_factory=dict)
    """The next N requests of a service are applied, then answered with a timeout."""
    delays: dict[str, float] = field(default_factory=dict)
    """Seconds a service takes before it answers (a slow dependency)."""


class ShopServices(ServiceRegistry):
    """Inventory, payment, shipping, warehouse and email on one ledger: a SQLite file, or the
    PostgreSQL database of a ``postgresql://`` URL.

    Other service names fall back to a generic echoing ledger in the same database, so templates
    outside the shop keep working. ``dedupe=False`` applies every repeat (to show what breaks).
    Each request is served in one transaction holding the ledger's write lock (SQLite's, or a
    PostgreSQL advisory lock), so processes sharing the ledger apply each key once.
    """

    LOCK = "golemsim shop ledger"
    """The PostgreSQL advisory lock every shop transaction holds (one at a time, as on SQLite)."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS shop_requests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT, operation TEXT, idempotency_key TEXT,
        payload TEXT, outcome TEXT, answer TEXT
    );
    CREATE INDEX IF NOT EXISTS shop_requests_by_key ON shop_requests (service, idempotency_key);
    CREATE TABLE IF NOT EXISTS shop_stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS shop_records (kind TEXT, id TEXT, body TEXT, PRIMARY KEY (kind, id));
    CREATE TABLE IF NOT EXISTS shop_counters (prefix TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """

    def __init__(
        self,
        path: str | Path,
        *,
        stock: Mapping[str, int] | None = None,
        default_stock: int = 100,
        dedupe: bool = True,
        failures: ShopFailures | None = None,
    ) -> None:
        super().__init__()
        self.generic = LedgerService(path)
        """Serves every other service name by echoing (see golemsim.core.services)."""
        self.path: str | Path = str(path) if is_postgres_url(path) else Path(path)
        self.default_stock = default_stock
        self.dedupe = dedupe
        self.failures = failures or ShopFailures()
        self._lock = threading.Lock()
        self._conn = SQLConnection(self.path)
        self._conn.script(self.SCHEMA)
        self._store = _SQLShopStore(self._conn, default_stock)
        for sku, quantity in (stock or {}).items():
            self.set_stock(sku, quantity)
        for name in SERVICES:
            self.register(name, _ShopService(self, name))

    def get(self, name: str) -> ExternalService:
        try:
            return super().get(name)
        except ServiceRejected:
            return self.generic.for_service(name)

    # -- state for tests and operators ------------------------------------------------------

    def set_stock(self, sku: str, quantity: int) -> None:
        if quantity < 0:
            raise ValueError(f"stock of {sku!r} cannot be negative ({quantity})")
        with self._lock:
            self._store.set_available(sku, quantity)

    def stock(self, sku: str) -> int:
        with self._lock:
            return self._store.available(sku)

    def effects(self, service: str | None = None, operation: str | None = None) -> list[dict[str, Any]]:
        """Applied requests (each one an effect in the world), oldest first."""
        return self.requests(service, operation, outcome="applied")

    def requests(
        self, service: str | None = None, operation: str | None = None, *, outcome: str | None = None
    ) -> list[dict[str, Any]]:
        """Every request received, repeats included, with its outcome
        (applied, repeat, rejected, unavailable), oldest first."""
        query = "SELECT service, operation, idempotency_key, payload, outcome, answer FROM shop_requests WHERE 1=1"
        params: list[Any] = []
        for column, value in (("service", service), ("operation", operation), ("outcome", outcome)):
            if value is not None:
                query += f" AND {column} = ?"
                params.append(value)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY seq", params).fetchall()
        return [
            {"service": s, "operation": o, "key": k, "payload": json.loads(p), "outcome": out, "answer": json.loads(a)}
            for s, o, k, p, out, a in rows
        ]

    # -- serving ----------------------------------------------------------------------------

    def handle(self, service: str, operation: str, payload: Any, key: str) -> Any:
        """Serve one request: deduplicate by key, apply the rules, honour the failure switches."""
        delay = self.failures.delays.get(service, 0.0)
        if delay > 0:
            time.sleep(delay)  # outside the lock: a slow service does not hold up the others
        with self._lock:
            if service in self.failures.unavailable:
                self._record(service, operation, key, payload, "unavailable", f"{service} is unavailable")
                raise ServiceUnavailable(f"{service} is unavailable")
            with self._conn.transaction(lock=self.LOCK):
                answer = self._answer(service, operation, payload, key)
            if self.failures.timeouts.get(service, 0) > 0:
                self.failures.timeouts[service] -= 1
                raise ServiceUnavailable(f"{service}.{operation} timed out (the request was applied)")
        outcome, value = answer
        if outcome == "rejected":
            raise ServiceRejected(value)
        return value

    def _answer(self, service: str, operation: str, payload: Any, key: str) -> tuple[str, Any]:
        """Inside the transaction: the recorded answer of a repeat, or apply and record."""

        def first() -> tuple[str, Any] | None:
            row = self._conn.execute(
                "SELECT outcome, answer FROM shop_requests WHERE service = ? AND idempotency_key = ?"
                " AND outcome IN ('applied', 'rejected') ORDER BY seq LIMIT 1",
                (service, key),
            ).fetchone()
            return None if row is None else (row[0], json.loads(row[1]))

        decline = self.failures.decline_payments
        return rules.answer_once(
            lambda: rules.checked_apply(self._store, service, operation, payload, decline=decline),
            first=first if self.dedupe else None,
            record=lambda outcome, answer: self._record(service, operation, key, payload, outcome, answer),
        )

    def _record(self, service: str, operation: str, key: str, payload: Any, outcome: str, answer: Any) -> None:
        self._conn.execute(
            "INSERT INTO shop_requests (service, operation, idempotency_key, payload, outcome, answer)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (service, operation, key, json.dumps(payload), outcome, json.dumps(answer)),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        self.generic.close()


class _ShopService:
    """One shop service name, as the core's ExternalService."""

    def __init__(self, services: ShopServices, name: str) -> None:
        self.services = services
        self.name = name

    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any:
        return self.services.handle(self.name, operation, payload, idempotency_key)


class _SQLShopStore:
    """rules.ShopStore on the ledger's connection (called inside its transactions)."""

    def __init__(self, conn: SQLConnection, default_stock: int) -> None:
        self.conn = conn
        self.default_stock = default_stock

    def available(self, sku: str) -> int:
        row = self.conn.execute("SELECT available FROM shop_stock WHERE sku = ?", (sku,)).fetchone()
        return self.default_stock if row is None else int(row[0])

    def set_available(self, sku: str, quantity: int) -> None:
        self.conn.execute(
            "INSERT INTO shop_stock (sku, available) VALUES (?, ?)"
            " ON CONFLICT (sku) DO UPDATE SET available = excluded.available",
            (sku, quantity),
        )

    def next_id(self, prefix: str) -> str:
        self.conn.execute(
            "INSERT INTO shop_counters (prefix, value) VALUES (?, 1)"
            " ON CONFLICT (prefix) DO UPDATE SET value = shop_counters.value + 1",
            (prefix,),
        )
        (value,) = self.conn.execute("SELECT value FROM shop_counters WHERE prefix = ?", (prefix,)).fetchone()
        return f"{prefix}-{value}"

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT body FROM shop_records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, kind: str, record_id: str, record: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT INTO shop_records (kind, id, body) VALUES (?, ?, ?)"
            " ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body",
            (kind, record_id, json.dumps(record)),
        )
