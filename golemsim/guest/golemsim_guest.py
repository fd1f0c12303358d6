"""The guest-side API for golemsim templates written in Python.

This module is compiled *into* a component (``golemsim build`` adds it to the guest's
Python path). It wraps the ``golemsim:host/durable`` imports with a friendlier API::

    import golemsim_guest as golem

    payment = golem.call("payment", "charge", {"amount": 10}, key=golem.idempotency_key())
    golem.sleep(1.5)
    with golem.atomic():
        ...

Every function here is durable: its result is recorded in the worker's oplog and replayed
after a crash, so the guest sees exactly the same values the second time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from componentize_py_types import Err
from wit_world.imports import durable


class ServiceRejected(Exception):
    """The external service refused the request (a business error)."""


class ServiceUnavailable(Exception):
    """The service kept failing until the retry policy gave up."""


def _raise_call_error(error: Err) -> None:
    value = error.value
    if isinstance(value, durable.CallError_Rejected):
        raise ServiceRejected(value.value) from None
    raise ServiceUnavailable(getattr(value, "value", str(value))) from None


def idempotency_key() -> str:
    """A fresh idempotency key; the same one again when the worker is replayed."""
    return durable.new_idempotency_key()


def call(service: str, operation: str, payload: Any = None, *, key: str | None = None) -> Any:
    """Call an external service with a JSON payload and return its decoded JSON answer.

    Without ``key`` the host makes a fresh durable idempotency key for the call.
    Raises ServiceRejected or ServiceUnavailable.
    """
    try:
        answer = durable.call_service(service, operation, json.dumps(payload), key)
    except Err as error:
        _raise_call_error(error)
    return json.loads(answer)


def invoke(template: str, worker: str, function: str, *args: Any) -> Any:
    """Invoke ``function(*args)`` on another worker, exactly once; returns its JSON result."""
    target = durable.WorkerRef(template=template, name=worker)
    try:
        answer = durable.invoke_worker(target, function, json.dumps(list(args)))
    except Err as error:
        _raise_call_error(error)
    return json.loads(answer)


def schedule(function: str, *args: Any, at_ms: int, template: str | None = None, worker: str | None = None) -> str:
    """Run ``function(*args)`` at wall-clock time ``at_ms`` (ms since the epoch), exactly once.

    The target defaults to this worker itself. The schedule is durable: it survives crashes
    and restarts of the executor. Returns the scheduled invocation's idempotency key.
    """
    own_template, own_name = worker_id()
    target = durable.WorkerRef(template=template or own_template, name=worker or own_name)
    try:
        key = durable.schedule_invocation(target, function, json.dumps(list(args)), max(0, int(at_ms)))
    except Err as error:
        _raise_call_error(error)
    return key


def now_ms() -> int:
    """The wall clock in milliseconds since the epoch (recorded, so replay sees the same time)."""
    return time.time_ns() // 1_000_000


def sleep(seconds: float) -> None:
    """Sleep durably: a crash during the sleep does not restart it from zero."""
    durable.sleep(max(0, int(seconds * 1000)))


def worker_id() -> tuple[str, str]:
    """This worker's (template, name)."""
    ref = durable.worker_id()
    return ref.template, ref.name


def oplog_index() -> int:
    """The index of the newest entry in this worker's oplog."""
    return durable.oplog_index()


@contextmanager
def atomic() -> Iterator[None]:
    """A region that is re-run whole if the worker crashes inside it."""
    begin = durable.begin_atomic()
    yield
    durable.end_atomic(begin)


def log(message: str, level: str = "info") -> None:
    """Write a line to the worker's log; it is not repeated on replay."""
    durable.log(level, message)
