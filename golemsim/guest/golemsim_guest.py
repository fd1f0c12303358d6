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

import base64
import json
import pickle
import random
import sys
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


def create_promise() -> str:
    """A new promise's id: give it to whoever will complete it (exactly once) with a JSON value."""
    return durable.create_promise()


def await_promise(promise_id: str) -> Any:
    """Wait for a promise this worker created and return its value. The worker is suspended
    meanwhile (no memory held, also across restarts) and resumes right here."""
    return json.loads(durable.await_promise(promise_id))


def now_ms() -> int:
    """The wall clock in milliseconds since the epoch (recorded, so replay sees the same time)."""
    return time.time_ns() // 1_000_000


def sleep(seconds: float) -> None:
    """Sleep durably: a crash during the sleep does not restart it from zero. A long sleep
    suspends the worker (no instance held) and the executor wakes it on time."""
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


class Snapshots:
    """Snapshots in one line: mix this into the template's ``WitWorld`` (whose world includes
    ``golemsim:host/snapshotting@0.1.0``) and name the module-level globals that hold its state::

        cart: dict[str, Line] = {}

        class WitWorld(golem.Snapshots, wit_world.WitWorld):
            snapshot_state = ("cart",)

    ``save_snapshot`` pickles those globals of the module that defines the class (and sends
    the bytes base64-encoded, the fast way through wasmtime-py). Their values
    must be picklable: builtins, dataclasses and classes defined at module level, the WIT types
    of ``wit_world`` (componentize-py packs only the modules imported while the component is
    built, so import them at the top). ``load_snapshot`` rebinds them all, or none when the data
    is not a snapshot this template can load: it then raises ``Err`` with the reason, and the
    executor rebuilds the worker by a full replay. The state of Python's ``random`` module is
    saved and restored too, so the numbers it draws after a recovery are the ones it would
    have drawn without the crash (componentize-py reseeds it on an instance's first call).

    Code must reach the state through those globals: an object captured elsewhere before a
    load keeps the old value. Neither function may call the host (clocks, services, durable
    calls), so keep ``__reduce__`` and ``__setstate__`` of the values pure.
    """

    snapshot_state: tuple[str, ...] = ()

    _MAGIC = b"GSIMSNAP"
    _FORMAT = 1

    def save_snapshot(self) -> str:
        return base64.b64encode(self.snapshot_bytes()).decode("ascii")

    def load_snapshot(self, data: str) -> None:
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise Err("not a golemsim snapshot: the data is not base64") from None
        self.restore_bytes(raw)

    def snapshot_bytes(self) -> bytes:
        """The declared state, pickled behind a header (what save-snapshot sends, base64-encoded)."""
        module = type(self).__module__
        namespace = vars(sys.modules[module])
        state = {}
        for name in self.snapshot_state:
            if name not in namespace:
                raise NameError(f"snapshot_state names {name!r}, but module {module} has no global of that name")
            state[name] = namespace[name]
        saved = {"module": module, "state": state, "random": random.getstate()}
        body = pickle.dumps(saved, protocol=pickle.HIGHEST_PROTOCOL)
        return self._MAGIC + bytes([self._FORMAT]) + body

    def restore_bytes(self, data: bytes) -> None:
        """Restore the declared state from ``snapshot_bytes`` output, all of it or none."""
        module = type(self).__module__
        header = len(self._MAGIC)
        if bytes(data[:header]) != self._MAGIC or len(data) <= header:
            raise Err(f"not a golemsim snapshot: the {len(data)} bytes do not start with the snapshot header")
        if data[header] != self._FORMAT:
            raise Err(f"snapshot format {data[header]} is unknown to this template (it reads format {self._FORMAT})")
        try:
            saved = pickle.loads(data[header + 1 :])
            saved_module, state, random_state = saved["module"], saved["state"], saved["random"]
            if not isinstance(state, dict):
                raise TypeError(f"its state is a {type(state).__name__}, not a dict")
        except Exception as error:
            raise Err(f"the snapshot cannot be unpickled: {type(error).__name__}: {error}") from None
        if saved_module != module:
            raise Err(f"the snapshot was saved by module {saved_module!r}, this template's state is in {module!r}")
        missing = sorted(set(self.snapshot_state) - set(state))
        extra = sorted(set(state) - set(self.snapshot_state))
        if missing or extra:
            raise Err(f"the snapshot does not match snapshot_state: missing {missing}, unexpected {extra}")
        try:
            random.setstate(random_state)
        except Exception as error:
            raise Err(f"the snapshot's state of the random module is unusable: {error}") from None
        vars(sys.modules[module]).update(state)
