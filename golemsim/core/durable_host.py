"""golemsim's host functions (golemsim:host/durable) for one worker, recorded and replayed.

Each host call goes through ``durable``. While the current invocation still has recorded
entries the call is *replayed*: checked against the record (function and request) and
answered from it. Past the end of the record the call is *live*: performed through the
environment and recorded. A call with an external effect writes a durable
BeginRemoteWrite first; finding one without its HostCall on replay means the call may
have happened, so it is sent again with the same idempotency key. Transient service
failures are retried under the worker's retry policy, each failed attempt recorded.

A WorkerInstance composes one DurableHost and links its functions into the component.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from wasmtime import component as wc

from .environment import Environment, ServiceRequest, WorkerCall, wall_clock_ms
from .errors import GolemError, Interrupted, ReplayDivergence, Suspended
from .ids import WorkerId
from .oplog.entries import AtomicBegin, AtomicEnd, BeginRemoteWrite, ErrorRecorded, HostCall, OplogEntry
from .oplog_writer import OplogWriter
from .policy import RetryPolicy
from .services import ServiceRejected, ServiceUnavailable

HOST_INTERFACE = "golemsim:host/durable@0.1.0"
KEY_NAMESPACE = uuid.UUID("6f2b7c1e-0d4a-4f1e-9a57-1c2d3e4f5a6b")
_NAMESPACE_BYTES = KEY_NAMESPACE.bytes

guest_log = logging.getLogger("golemsim.worker")
_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Types that JSON gives back as they are (exactly these types, not subclasses)."""


def canonical(value: Any) -> Any:
    """The JSON form of a request, so live and recorded requests compare equal.

    A plain value, or a dict of plain values under string keys, is its own JSON form (a copy,
    for the dict): the common host-call requests and responses skip the encode-decode trip.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict and all(type(key) is str and type(item) in _PLAIN for key, item in value.items()):
        return dict(value)
    return json.loads(json.dumps(value))


def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(KEY_NAMESPACE, name))``, without making a UUID object (once per host call)."""
    raw = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class InvocationContext:
    """The state of the invocation that is running: its record and how far replay got."""

    def __init__(self, key: str, recorded: list[tuple[int, OplogEntry]], *, may_go_live: bool) -> None:
        self.key = key
        self.recorded = recorded
        self.position = 0
        self.may_go_live = may_go_live
        self.keys_made = 0
        self.caught_up = not recorded
        """True once replay has reached the point where the invocation stopped and it goes live."""
        self.on_take: Callable[[int], None] | None = None
        """Told the oplog index of each recorded entry as replay consumes it."""

    @property
    def replaying(self) -> bool:
        return self.position < len(self.recorded)

    def take(self) -> tuple[int, OplogEntry]:
        item = self.recorded[self.position]
        self.position += 1
        if self.on_take is not None:
            self.on_take(item[0])
        return item


class DurableHost:
    """The durable host functions of one worker: the invocation running (``context``), its
    oplog writer, and how to reach the outside world (``environment``)."""

    def __init__(
        self,
        worker: WorkerId,
        environment: Environment,
        writer: OplogWriter,
        retry: RetryPolicy,
        *,
        promises: dict[str, tuple[bool, Any]],
        suspend_after_ms: int,
        rearm: Callable[[], None],
    ) -> None:
        self.worker = worker
        self.environment = environment
        self.writer = writer
        self.retry = retry
        self.promises = promises
        """The worker's promises by id, (completed, value); shared with the executor."""
        self.suspend_after_ms = suspend_after_ms
        """A durable sleep (or a wait for another worker) longer than this parks the worker."""
        self.rearm = rearm
        """Give the guest a fresh timeout (after time spent outside it)."""
        self.context: InvocationContext | None = None
        """The invocation running, set by the instance around each run."""
        self.interrupt_requested = False
        """Set from another thread: the next host call raises Interrupted."""
        self.on_caught_up: Callable[[int], None] | None = None
        """Told when a resumed invocation's replay reaches where it stopped (with the entries replayed)."""

    def record(self, function: str, request: Any, produce: Callable[[], Any]) -> Any:
        """A host call without external effect (a WASI clock or random read): replayed or recorded."""
        return self.durable(function, request, lambda _begin: produce(), remote_write=False)

    # -- record and replay ------------------------------------------------------------------

    def durable(
        self, function: str, request: Any, perform: Callable[[BeginRemoteWrite | None], Any], *, remote_write: bool
    ) -> Any:
        """Replay or perform a host call, recording it when live."""
        context = self.context
        if context is None:
            raise GolemError(f"host call {function} made outside of an invocation")
        if self.interrupt_requested:
            raise Interrupted(f"worker {self.worker} was interrupted")
        request = canonical(request)
        if context.replaying:
            index, entry = context.take()
            expected_kind = BeginRemoteWrite if remote_write else HostCall
            if not isinstance(entry, expected_kind) or entry.function != function or entry.request != request:
                raise ReplayDivergence(
                    str(self.worker), index, describe_entry(entry), _describe_call(function, request)
                )
            if not remote_write:
                assert isinstance(entry, HostCall)
                return entry.response
            if context.replaying:
                result_index, result = context.take()
                if not isinstance(result, HostCall) or result.function != function:
                    raise ReplayDivergence(
                        str(self.worker), result_index, describe_entry(result), f"result of {function}"
                    )
                return result.response
            # An open begin marker: the call may or may not have happened. Send it again.
            assert isinstance(entry, BeginRemoteWrite)
            begin: BeginRemoteWrite | None = entry
            self._require_live(context, function)
        else:
            self._require_live(context, function)
            begin = None
            if remote_write:
                begin = BeginRemoteWrite(function, request, at_ms=self._now_ms())
                self.writer.add(begin, durable=True)
        response = canonical(perform(begin))
        if remote_write:
            self.rearm()  # time spent outside the guest does not count against its timeout
        self.writer.add(HostCall(function, request, response, at_ms=self._now_ms()), durable=False)
        return response

    def _require_live(self, context: InvocationContext, function: str) -> None:
        if not context.may_go_live:
            raise ReplayDivergence(
                str(self.worker),
                self.writer.last_index,
                "the end of a completed invocation",
                f"a further call of {function}",
            )
        if not context.caught_up:
            context.caught_up = True
            if self.on_caught_up is not None:
                self.on_caught_up(len(context.recorded))

    def _now_ms(self) -> int:
        return wall_clock_ms(self.environment)

    def _with_retries(self, what: str, attempt_once: Callable[[], Any]) -> Any:
        """Run ``attempt_once`` under the retry policy; each failed attempt is recorded as an error.

        ServiceUnavailable is transient by definition; any other unexpected exception from the
        outside world is treated the same way, since the call may or may not have happened.
        """
        attempt = 1
        while True:
            try:
                return attempt_once()
            except ServiceRejected as error:
                return {"err": {"rejected": str(error)}}
            except Interrupted:
                raise
            except Exception as error:
                reason = str(error) if isinstance(error, ServiceUnavailable) else f"unexpected {error!r}"
                if attempt >= self.retry.max_attempts:
                    return {"err": {"unavailable": f"{what}: {reason} (gave up after {attempt} attempts)"}}
                delay = self.retry.delay(attempt)
                entry = ErrorRecorded(
                    f"{what}: {reason}",
                    transient=True,
                    attempt=attempt,
                    retry_in_ms=int(delay * 1000),
                    at_ms=self._now_ms(),
                )
                self.writer.add(entry, durable=True)
                self.environment.sleep(delay)
                attempt += 1

    # -- host functions ----------------------------------------------------------------------

    def call_service(self, service: str, operation: str, payload_json: str, key: str | None) -> Any:
        if key is None:
            key = self._derive_key()
        try:
            payload = json.loads(payload_json)
        except ValueError:
            return wc.Variant("rejected", f"payload for {service}.{operation} is not JSON")
        request = {"service": service, "operation": operation, "payload": payload, "idempotency_key": key}

        def perform(_begin: BeginRemoteWrite | None) -> Any:
            service_request = ServiceRequest(service, operation, payload, key)
            return self._with_retries(
                f"{service}.{operation}", lambda: {"ok": self.environment.call_service(service_request)}
            )

        return _to_guest_result(self.durable("call-service", request, perform, remote_write=True))

    def _derive_key(self) -> str:
        """The next key of this invocation: a function of the worker, the invocation and a counter,
        so replay (and a re-run atomic region) derives exactly the same keys."""
        context = self.context
        assert context is not None
        context.keys_made += 1
        return _uuid5(f"{self.worker}/{context.key}/{context.keys_made}")

    def new_idempotency_key(self) -> str:
        made = self._derive_key()
        return str(self.durable("new-idempotency-key", None, lambda _b: made, remote_write=False))

    def sleep(self, millis: int) -> None:
        def perform(begin: BeginRemoteWrite | None) -> None:
            started_ms = begin.at_ms if begin is not None else self._now_ms()
            remaining = started_ms + millis - self._now_ms()
            if remaining > self.suspend_after_ms:
                raise Suspended(f"{self.worker} sleeps for {remaining} ms", until_ms=started_ms + millis)
            self.environment.sleep(max(0, remaining) / 1000)

        self.durable("sleep", {"millis": millis}, perform, remote_write=True)

    def invoke_worker(self, target: Any, function: str, args_json: str) -> Any:
        key = f"rpc:{self._derive_key()}"
        try:
            args = json.loads(args_json)
        except ValueError:
            return wc.Variant("rejected", "arguments are not JSON")
        request = {"template": target.template, "name": target.name, "function": function, "args": args, "key": key}

        def perform(_begin: BeginRemoteWrite | None) -> Any:
            # Sent with the same key on every run (a re-sent call joins or returns the first run).
            # The caller waits for the answer however long; past suspend_after it waits parked.
            try:
                call = WorkerCall(self.worker, WorkerId(target.template, target.name), function, args, key)
                answer = self.environment.send_call(call)
            except Interrupted:
                raise
            except GolemError as refused:  # refused before delivery: the target never runs it
                return {"err": {"rejected": str(refused)}}
            waits = f"{self.worker} waits for {call.target} to answer {key}"
            try:
                return {"ok": self.environment.wait(answer, self.suspend_after_ms / 1000)}
            except TimeoutError:
                raise Suspended(waits, call=answer) from None
            except Interrupted:
                if not answer.done():
                    raise  # this worker's own executor is stopping it
                # The target was interrupted by an operator: the call stays accepted there and
                # runs on resume. Ask again (the same key) until it answers.
                raise Suspended(waits, call=answer) from None
            except GolemError as error:  # refused, or the target's invocation failed: its state is unchanged
                return {"err": {"rejected": str(error)}}

        return _to_guest_result(self.durable("invoke-worker", request, perform, remote_write=True))

    def schedule_invocation(self, target: Any, function: str, args_json: str, at_millis: int) -> Any:
        key = f"scheduled:{self._derive_key()}"
        try:
            args = json.loads(args_json)
        except ValueError:
            return wc.Variant("rejected", "arguments are not JSON")
        request = {"template": target.template, "name": target.name, "function": function, "args": args}
        request.update(at_ms=at_millis, key=key)

        def perform(_begin: BeginRemoteWrite | None) -> Any:
            # Idempotent by key, so a re-run after a crash schedules nothing twice.
            try:
                target_id = WorkerId(target.template, target.name)
                self.environment.schedule_invocation(target_id, function, args, at_millis, key)
                return {"ok": key}
            except Interrupted:
                raise
            except GolemError as error:
                return {"err": {"rejected": str(error)}}

        response = self.durable("schedule-invocation", request, perform, remote_write=False)
        if "ok" in response:
            return str(response["ok"])
        return _to_guest_result(response)

    def create_promise(self) -> str:
        made = f"{self.worker}/promise-{self._derive_key()}"
        promise_id = str(self.durable("create-promise", None, lambda _b: made, remote_write=False))
        self.promises.setdefault(promise_id, (False, None))
        return promise_id

    def await_promise(self, promise_id: str) -> str:
        if promise_id not in self.promises:
            raise GolemError(f"{self.worker} awaits promise {promise_id!r}, which it did not create")

        def perform(_begin: BeginRemoteWrite | None) -> Any:
            completed, value = self.promises[promise_id]
            if not completed:
                raise Suspended(f"{self.worker} awaits promise {promise_id}", promise_id=promise_id)
            return value

        return json.dumps(self.durable("await-promise", {"promise_id": promise_id}, perform, remote_write=True))

    def worker_id(self) -> wc.Record:
        ref = wc.Record()
        ref.template = self.worker.template
        ref.name = self.worker.name
        return ref

    def oplog_index(self) -> int:
        return int(self.durable("oplog-index", None, lambda _b: self.writer.last_index, remote_write=False))

    def begin_atomic(self) -> int:
        context = self.context
        assert context is not None
        if context.replaying:
            index, entry = context.take()
            if not isinstance(entry, AtomicBegin):
                raise ReplayDivergence(str(self.worker), index, describe_entry(entry), "begin-atomic")
            return index
        self._require_live(context, "begin-atomic")
        return self.writer.add(AtomicBegin(at_ms=self._now_ms()), durable=False)

    def end_atomic(self, begin: int) -> None:
        context = self.context
        assert context is not None
        if context.replaying:
            index, entry = context.take()
            if not isinstance(entry, AtomicEnd) or entry.begin_index != begin:
                raise ReplayDivergence(str(self.worker), index, describe_entry(entry), f"end-atomic({begin})")
            return
        self._require_live(context, "end-atomic")
        self.writer.add(AtomicEnd(begin, at_ms=self._now_ms()), durable=True)

    def log(self, level: str, message: str) -> None:
        context = self.context
        if context is None or not context.may_go_live or context.replaying:
            return  # printed once, when the code first ran: never while it is replayed
        guest_log.log(_LOG_LEVELS.get(level.lower(), logging.INFO), "[%s] %s", self.worker, message)


def _to_guest_result(response: Any) -> Any:
    """A recorded {"ok": json} / {"err": {case: msg}} as the WIT result<string, call-error> value."""
    if "ok" in response:
        return json.dumps(response["ok"])
    ((case, message),) = response["err"].items()
    return wc.Variant(case, message)


def describe_entry(entry: OplogEntry) -> str:
    function = getattr(entry, "function", None)
    request = getattr(entry, "request", None)
    if function is None:
        return entry.kind
    return f"{entry.kind} {_describe_call(function, request)}"


def _describe_call(function: str, request: Any) -> str:
    text = json.dumps(request, sort_keys=True)
    return f"{function}({text if len(text) <= 120 else text[:117] + '...'})"


HOST_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "call-service": DurableHost.call_service,
    "new-idempotency-key": DurableHost.new_idempotency_key,
    "sleep": DurableHost.sleep,
    "invoke-worker": DurableHost.invoke_worker,
    "create-promise": DurableHost.create_promise,
    "await-promise": DurableHost.await_promise,
    "schedule-invocation": DurableHost.schedule_invocation,
    "worker-id": DurableHost.worker_id,
    "oplog-index": DurableHost.oplog_index,
    "begin-atomic": DurableHost.begin_atomic,
    "end-atomic": DurableHost.end_atomic,
    "log": DurableHost.log,
}
"""golemsim:host/durable's functions by WIT name, as methods taking the DurableHost first."""
