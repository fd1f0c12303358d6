"""The peer protocol: how one executor process asks the owner of a shard to act on a worker.

Three JSON-over-HTTP requests, served by every ``golemsim serve --db postgresql://...``
beside the public routes, under ``/_golemsim/peer/``:

- ``invoke``: {worker, function, args, key, timeout} -> {result}
- ``schedule``: {worker, function, args, at_ms, key} -> {}
- ``complete-promise``: {promise_id, value} -> {completed}

A peer runs a request only for a worker whose shard it holds; otherwise it answers 409
``not-owner`` and the sender looks the owner up again. Errors travel as the name of the core's
exception and its message, and are raised again on the sender's side, so a forwarded request
fails exactly as a local one would (the gateway maps both to the same status).
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import urlsplit

from ..core import errors
from ..core.errors import GolemError, InvocationPending

PEER_PREFIX = "/_golemsim/peer/"


class NotOwner(GolemError):
    """The process asked does not hold the worker's shard (now): look the owner up again."""


class PeerUnreachable(GolemError):
    """No answer from the peer process (it may have died): look the owner up again."""


def _error_classes() -> dict[str, type[GolemError]]:
    """The errors that cross the wire by name: the core's, and the peer protocol's own."""
    found: dict[str, type[GolemError]] = {"NotOwner": NotOwner}
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, GolemError):
            found[name] = value
    return found


ERRORS = _error_classes()


def encode_error(error: BaseException) -> dict[str, Any]:
    """The wire form of an error raised while serving a peer request."""
    kind = type(error).__name__ if type(error).__name__ in ERRORS else "GolemError"
    wire: dict[str, Any] = {"kind": kind, "message": str(error)}
    if isinstance(error, InvocationPending):
        wire["worker"], wire["key"] = error.worker, error.key
    if isinstance(error, errors.InvocationFailed):
        wire["worker"], wire["function"], wire["detail"] = error.worker, error.function, error.message
    return wire


def decode_error(wire: dict[str, Any]) -> GolemError:
    """The error a peer reported, as the same core exception."""
    kind = str(wire.get("kind", "GolemError"))
    message = str(wire.get("message", "peer error"))
    if kind == "InvocationPending":
        return InvocationPending(str(wire.get("worker")), str(wire.get("key")))
    if kind == "InvocationFailed":
        return errors.InvocationFailed(str(wire.get("worker")), str(wire.get("function")), str(wire.get("detail")))
    cls = ERRORS.get(kind, GolemError)
    try:
        return cls(message)
    except TypeError:  # an error class with a richer constructor: keep its message, lose its type
        return GolemError(message)


class PeerClient:
    """Sends peer requests over one keep-alive connection per peer address and thread."""

    def __init__(self, *, connect_timeout: float = 2.0) -> None:
        self.connect_timeout = connect_timeout
        self._local = threading.local()

    def _connection(self, address: str, timeout: float) -> http.client.HTTPConnection:
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        conn = pool.get(address)
        if conn is None:
            parts = urlsplit(address)
            conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
            pool[address] = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _drop(self, address: str) -> None:
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        conn = pool.pop(address, None)
        if conn is not None:
            conn.close()

    def request(self, address: str, operation: str, body: dict[str, Any], timeout: float) -> Any:
        """POST one peer request and return its answer; raise the peer's error, or PeerUnreachable."""
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Content-Length": str(len(data))}
        try:
            conn = self._connection(address, timeout)
            conn.request("POST", PEER_PREFIX + operation, data, headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as error:
            self._drop(address)
            raise PeerUnreachable(f"peer {address} did not answer {operation}: {error!r}") from None
        try:
            answer = json.loads(payload) if payload else {}
        except ValueError:
            raise PeerUnreachable(f"peer {address} answered {operation} with no JSON ({response.status})") from None
        if response.status >= 400:
            wire = answer.get("error") if isinstance(answer, dict) else None
            if not isinstance(wire, dict):
                raise PeerUnreachable(f"peer {address} answered {operation} with {response.status}")
            raise decode_error(wire)
        return answer
