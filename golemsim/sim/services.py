"""Simulated external services: the shop's inventory, payment, shipping, warehouse and email,
with the same rules as the real ones (golemsim.shop.rules), plus latency, transient
failures, and idempotency-key deduplication that can be switched off to show what breaks.

Every request is recorded in ``ledger``; the checkers read it.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from ..core.environment import ServiceRequest
from ..core.services import ServiceRejected, ServiceUnavailable
from ..shop import rules
from ..shop.contracts import SERVICES


@dataclass(frozen=True)
class ServiceSettings:
    latency: float = 0.005
    """Seconds each request takes."""
    failure_rate: float = 0.0
    """Probability that a request is refused before it is applied (a transient failure)."""
    timeout_rate: float = 0.0
    """Probability that a request is applied but its answer never arrives (the caller times out)."""
    dedupe: bool = True
    """Apply a repeated idempotency key once and answer repeats with the first answer."""
    default_stock: int = 1000


@dataclass(frozen=True)
class ServiceRecord:
    """One request as the service saw it."""

    seq: int
    at: float
    service: str
    operation: str
    key: str
    payload: Any
    outcome: str
    """applied, repeat, rejected or unavailable."""
    answer: Any


class MemoryShopStore:
    """The shop's state in memory (a ShopStore)."""

    def __init__(self, default_stock: int) -> None:
        self.default_stock = default_stock
        self.stock: dict[str, int] = {}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.counters: dict[str, int] = {}

    def available(self, sku: str) -> int:
        return self.stock.get(sku, self.default_stock)

    def set_available(self, sku: str, quantity: int) -> None:
        self.stock[sku] = quantity

    def next_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}-{self.counters[prefix]}"

    def get(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return self.records.get((kind, record_id))

    def put(self, kind: str, record_id: str, record: dict[str, Any]) -> None:
        self.records[(kind, record_id)] = record


@dataclass
class SimServices:
    """The external world of a simulated cluster (endpoint "services")."""

    env: simpy.Environment
    rng: random.Random
    settings: ServiceSettings = field(default_factory=ServiceSettings)
    ledger: list[ServiceRecord] = field(default_factory=list)
    slowdown: float = 1.0

    def __post_init__(self) -> None:
        self.store = MemoryShopStore(self.settings.default_stock)
        self._first: dict[tuple[str, str], tuple[str, Any]] = {}

    def handle(self, request: ServiceRequest) -> Generator[simpy.Event, Any, Any]:
        """Serve one request (a SimPy generator): raise ServiceRejected or ServiceUnavailable."""
        yield self.env.timeout(self.settings.latency * self.slowdown)
        s = self.settings
        if s.failure_rate and self.rng.random() < s.failure_rate:
            self._record(request, "unavailable", f"{request.service} is unavailable")
            raise ServiceUnavailable(f"{request.service} is unavailable")
        outcome, answer = self._answer(request)
        if s.timeout_rate and self.rng.random() < s.timeout_rate:
            raise ServiceUnavailable(f"{request.service}.{request.operation} timed out (the request was applied)")
        if outcome == "rejected":
            raise ServiceRejected(answer)
        return answer

    def _answer(self, request: ServiceRequest) -> tuple[str, Any]:
        key = (request.service, request.idempotency_key)
        answer = rules.answer_once(
            lambda: self._apply(request),
            first=(lambda: self._first.get(key)) if self.settings.dedupe else None,
            record=lambda outcome, value: self._record(request, outcome, value),
        )
        self._first.setdefault(key, answer)
        return answer

    def _apply(self, request: ServiceRequest) -> Any:
        if request.service not in SERVICES:  # outside the shop: an echo, like the real registry's fallback
            return {"service": request.service, "operation": request.operation, "echo": request.payload}
        return rules.checked_apply(self.store, request.service, request.operation, request.payload)

    def _record(self, request: ServiceRequest, outcome: str, answer: Any) -> None:
        self.ledger.append(
            ServiceRecord(
                len(self.ledger) + 1,
                self.env.now,
                request.service,
                request.operation,
                request.idempotency_key,
                request.payload,
                outcome,
                answer,
            )
        )

    def effects(self, service: str | None = None, operation: str | None = None) -> list[ServiceRecord]:
        """Applied requests: each one an effect in the world."""
        return [
            r
            for r in self.ledger
            if r.outcome == "applied"
            and (service is None or r.service == service)
            and (operation is None or r.operation == operation)
        ]
