"""External services: the outside world that workers call through the host interface.

A service is anything with ``handle(operation, payload, idempotency_key)``. It answers
with a JSON value, raises ServiceRejected for a business refusal (not retried), or
ServiceUnavailable for a transient failure (retried under the retry policy).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from .errors import GolemError
from .postgres import is_postgres_url
from .sql_connection import SQLConnection


class ServiceRejected(GolemError):
    """The service refused the request; retrying will not change its mind."""


class ServiceUnavailable(GolemError):
    """The service failed transiently (timeout, overload); the request may be retried."""


class ExternalService(Protocol):
    """One external service."""

    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any: ...


def services_path(db: str | Path) -> str | Path:
    """Where the local services of an executor database keep their ledger: ``<db>-services.db``
    beside it (``":memory:"`` for an in-memory database). For a PostgreSQL URL it is the same
    database: the ledger's tables live beside the executor's."""
    if str(db) == ":memory:":
        return ":memory:"
    if is_postgres_url(db):
        return str(db)
    path = Path(db)
    return path.with_name(path.name + "-services.db")


class ServiceRegistry:
    """Services by name, with an optional fallback for names not registered."""

    def __init__(
        self, services: Mapping[str, ExternalService] | None = None, *, fallback: ExternalService | None = None
    ) -> None:
        self._services = dict(services or {})
        self._fallback = fallback

    def register(self, name: str, service: ExternalService) -> None:
        self._services[name] = service

    def get(self, name: str) -> ExternalService:
        service = self._services.get(name, self._fallback)
        if service is None:
            raise ServiceRejected(f"no external service named {name!r} (known: {sorted(self._services)})")
        return service


Behaviour = Callable[[str, str, Any], Any]
"""How a ledger service computes its answer: ``(service, operation, payload) -> result``."""


def echo(service: str, operation: str, payload: Any) -> Any:
    """The default behaviour: acknowledge the request and echo its payload."""
    return {"service": service, "operation": operation, "payload": payload}


class _KeyLock:
    """A lock for one idempotency key, with how many requests are using it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0


class LedgerService:
    """A real local service backed by a ledger that deduplicates by idempotency key.

    The ledger is a SQLite file, or a PostgreSQL database when ``path`` is a ``postgresql://``
    URL. Every request is recorded in ``requests``; the first request of a key is applied and its
    answer kept in ``applied``; a repeat of the key gets that answer back without being applied
    again. ``dedupe=False`` applies every request (to show what breaks without it).

    On PostgreSQL the check and the apply of a key run in one transaction holding an advisory
    lock on (service, key), so several processes sharing the database apply a key once.
    """

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS requests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT, operation TEXT, idempotency_key TEXT, payload TEXT
    );
    CREATE TABLE IF NOT EXISTS applied (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, service TEXT, operation TEXT, idempotency_key TEXT,
        payload TEXT, result TEXT
    );
    CREATE INDEX IF NOT EXISTS applied_by_key ON applied (service, idempotency_key);
    """

    def __init__(
        self, path: str | Path, *, name: str = "ledger", behaviour: Behaviour = echo, dedupe: bool = True
    ) -> None:
        self.path: str | Path = str(path) if is_postgres_url(path) else Path(path)
        self.name = name
        self.behaviour = behaviour
        self.dedupe = dedupe
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], _KeyLock] = {}
        self._conn = SQLConnection(self.path)
        self._conn.script(self.SCHEMA)
        self._idle: list[SQLConnection] = []
        """PostgreSQL: connections for requests in flight (each key's transaction has its own)."""

    def for_service(self, name: str) -> ExternalService:
        """The same ledger, answering as the service ``name``."""
        return _LedgerView(self, name)

    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any:
        return self.apply(self.name, operation, payload, idempotency_key)

    def apply(self, service: str, operation: str, payload: Any, idempotency_key: str) -> Any:
        """Record the request; apply it unless its key was applied before (with ``dedupe``).

        Requests with the same key are applied one at a time, so two concurrent repeats
        cannot both apply it.
        """
        key = (service, idempotency_key)
        with self._lock:
            guard = self._key_locks.setdefault(key, _KeyLock())
            guard.users += 1
        try:
            with guard.lock:
                return self._apply_once(service, operation, payload, idempotency_key)
        finally:
            with self._lock:
                guard.users -= 1
                if guard.users == 0:
                    del self._key_locks[key]  # only keys in flight hold a lock

    def _apply_once(self, service: str, operation: str, payload: Any, idempotency_key: str) -> Any:
        if self._conn.postgres:
            return self._apply_once_shared(service, operation, payload, idempotency_key)
        with self._lock:
            self._conn.execute(
                "INSERT INTO requests (service, operation, idempotency_key, payload) VALUES (?, ?, ?, ?)",
                (service, operation, idempotency_key, json.dumps(payload)),
            )
            if self.dedupe:
                row = self._conn.execute(
                    "SELECT result FROM applied WHERE service = ? AND idempotency_key = ?", (service, idempotency_key)
                ).fetchone()
                if row is not None:
                    return json.loads(row[0])
        result = self.behaviour(service, operation, payload)
        with self._lock:
            self._conn.execute(
                "INSERT INTO applied (service, operation, idempotency_key, payload, result) VALUES (?, ?, ?, ?, ?)",
                (service, operation, idempotency_key, json.dumps(payload), json.dumps(result)),
            )
        return result

    def _apply_once_shared(self, service: str, operation: str, payload: Any, idempotency_key: str) -> Any:
        """PostgreSQL: check and apply in one transaction under the key's advisory lock."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = SQLConnection(self.path)
        try:
            request = (service, operation, idempotency_key, json.dumps(payload))
            conn.execute(
                "INSERT INTO requests (service, operation, idempotency_key, payload) VALUES (?, ?, ?, ?)", request
            )
            with conn.transaction(lock=json.dumps(["golemsim ledger", service, idempotency_key])):
                if self.dedupe:
                    row = conn.execute(
                        "SELECT result FROM applied WHERE service = ? AND idempotency_key = ? ORDER BY seq LIMIT 1",
                        (service, idempotency_key),
                    ).fetchone()
                    if row is not None:
                        return json.loads(row[0])
                result = self.behaviour(service, operation, payload)
                conn.execute(
                    "INSERT INTO applied (service, operation, idempotency_key, payload, result) VALUES (?, ?, ?, ?, ?)",
                    (*request, json.dumps(result)),
                )
            return result
        finally:
            with self._lock:
                self._idle.append(conn)

    def close(self) -> None:
        """Close the ledger's connections."""
        with self._lock:
            for conn in [self._conn, *self._idle]:
                conn.close()
            self._idle.clear()

    def applied(self, idempotency_key: str | None = None) -> list[tuple[str, str, str, Any]]:
        """Applied effects as (service, operation, key, payload), oldest first."""
        query = "SELECT service, operation, idempotency_key, payload FROM applied"
        params: tuple[Any, ...] = ()
        if idempotency_key is not None:
            query += " WHERE idempotency_key = ?"
            params = (idempotency_key,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY seq", params).fetchall()
        return [(s, o, k, json.loads(p)) for s, o, k, p in rows]

    def received(self, idempotency_key: str | None = None) -> list[tuple[str, str, str, Any]]:
        """Every request received, repeats included, as (service, operation, key, payload)."""
        query = "SELECT service, operation, idempotency_key, payload FROM requests"
        params: tuple[Any, ...] = ()
        if idempotency_key is not None:
            query += " WHERE idempotency_key = ?"
            params = (idempotency_key,)
        with self._lock:
            rows = self._conn.execute(query + " ORDER BY seq", params).fetchall()
        return [(s, o, k, json.loads(p)) for s, o, k, p in rows]


class _LedgerView:
    """One service name on a shared ledger."""

    def __init__(self, ledger: LedgerService, name: str) -> None:
        self.ledger = ledger
        self.name = name

    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any:
        return self.ledger.apply(self.name, operation, payload, idempotency_key)


class LedgerRegistry(ServiceRegistry):
    """Every service name is served by one shared ledger (the CLI's default): a SQLite file, or
    a PostgreSQL database for a URL."""

    def __init__(self, path: str | Path, *, behaviour: Behaviour = echo, dedupe: bool = True) -> None:
        super().__init__()
        self.ledger = LedgerService(path, behaviour=behaviour, dedupe=dedupe)

    def get(self, name: str) -> ExternalService:
        try:
            return super().get(name)
        except ServiceRejected:
            view = self.ledger.for_service(name)
            self.register(name, view)
            return view

    def close(self) -> None:
        self.ledger.close()
