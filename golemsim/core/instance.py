"""A live worker instance: a wasmtime instance whose host calls are recorded and replayed.

Each host call goes through ``_durable``. While the current invocation still has recorded
entries the call is *replayed*: checked against the record (function and request) and
answered from it. Past the end of the record the call is *live*: performed through the
environment and recorded. A call with an external effect writes a durable
BeginRemoteWrite first; finding one without its HostCall on replay means the call may
have happened, so it is sent again with the same idempotency key.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import tempfile
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import wasmtime
from wasmtime import component as wc

from .engine import EPOCH_TICK_SECONDS, Engine
from .environment import Environment, ServiceRequest, WorkerCall
from .errors import GolemError, Interrupted, ReplayDivergence, SnapshotError, Suspended, UnsupportedHostCall
from .ids import WorkerId
from .oplog.entries import AtomicBegin, AtomicEnd, BeginRemoteWrite, ErrorRecorded, HostCall, OplogEntry
from .oplog_writer import OplogWriter
from .policy import ResourceLimits, RetryPolicy
from .services import ServiceRejected, ServiceUnavailable
from .templates import CompiledTemplate
from .wasi_shadows import shadow_for, unsupported, wasi_shadows

HOST_INTERFACE = "golemsim:host/durable@0.1.0"
SNAPSHOT_EXPORTS = {
    "save-snapshot": "save-snapshot() -> string",
    "load-snapshot": "load-snapshot(data: string) -> result<_, string>",
}
"""The snapshotting world's exports, as FunctionSignature prints them."""
KEY_NAMESPACE = uuid.UUID("6f2b7c1e-0d4a-4f1e-9a57-1c2d3e4f5a6b")
STDERR_TAIL = 2000

log = logging.getLogger("golemsim.worker")
_LOG_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


@dataclass(frozen=True)
class Outcome:
    """How one run of an invocation ended."""

    ok: bool
    result: Any
    """The JSON result when ok, else the error message."""
    fuel: int


def _canonical(value: Any) -> Any:
    """The JSON form of a request, so live and recorded requests compare equal."""
    return json.loads(json.dumps(value))


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


class WorkerInstance:
    """One instantiated component with golemsim's durable host functions linked in."""

    def __init__(
        self,
        worker: WorkerId,
        template: CompiledTemplate,
        engine: Engine,
        environment: Environment,
        writer: OplogWriter,
        limits: ResourceLimits,
        retry: RetryPolicy,
        *,
        promises: dict[str, tuple[bool, Any]] | None = None,
        suspend_after_ms: int = 1000,
    ) -> None:
        self.worker = worker
        self.template = template
        self.engine = engine
        self.environment = environment
        self.writer = writer
        self.limits = limits
        self.retry = retry
        self.promises = promises if promises is not None else {}
        """The worker's promises by id, (completed, value); shared with the executor."""
        self.suspend_after_ms = suspend_after_ms
        """A durable sleep longer than this suspends the worker instead of holding a thread."""
        self.interrupt_requested = False
        """Set from another thread: the next host call raises Interrupted."""
        self.on_caught_up: Callable[[int], None] | None = None
        """Told when a resumed invocation's replay reaches where it stopped (with the entries replayed)."""
        self.on_replayed: Callable[[int], None] | None = None
        """Told the oplog index of each recorded entry replayed (a resumed invocation's progress)."""
        self.context: InvocationContext | None = None
        self._host_error: BaseException | None = None
        self.dead = False
        self.store = wasmtime.Store(engine.wasmtime)
        self.store.set_limits(memory_size=limits.memory_bytes)
        # Guest output goes to a private file (read back to explain traps). A Python callback
        # would be called from wasmtime's I/O threads, which aborts the process at exit.
        fd, self._output_path = tempfile.mkstemp(prefix="golemsim-guest-", suffix=".log")
        os.close(fd)
        self._output_mark = 0
        wasi = wasmtime.WasiConfig()
        wasi.stdout_file = self._output_path
        wasi.stderr_file = self._output_path
        self.store.set_wasi(wasi)
        self.store.set_fuel(limits.fuel_per_invocation)
        self._arm_deadline()
        linker = wc.Linker(engine.wasmtime)
        linker.allow_shadowing = True
        linker.add_wasip2()
        self._link(linker)
        try:
            self.instance = linker.instantiate(self.store, template.component)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            raise GolemError(f"cannot instantiate template {template.name} for {worker}: {error}") from None
        self._funcs: dict[str, wc.Func] = {}

    # -- running invocations -----------------------------------------------------------

    def run(
        self, key: str, function: str, args: list[Any], recorded: list[tuple[int, OplogEntry]], *, may_go_live: bool
    ) -> Outcome:
        """Run one invocation: replay ``recorded``, then (if allowed) continue live.

        A trap, fuel exhaustion, timeout or the memory limit give Outcome(ok=False); the
        instance is then dead (``dead``) and must be rebuilt. Raises ReplayDivergence if the
        guest does not do what the record says.
        """
        signature = self.template.function(function)
        typed_args = signature.args_from_json(args)
        func = self._export(function)
        if func is None:
            raise GolemError(f"template {self.template.name} lists {function} but the instance lacks it")
        self.context = InvocationContext(key, recorded, may_go_live=may_go_live)
        self.context.on_take = self.on_replayed
        self._begin_call()
        try:
            raw = func(self.store, *typed_args)
            func.post_return(self.store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
            self.dead = True
            host_error, self._host_error = self._host_error, None
            if isinstance(host_error, UnsupportedHostCall):
                return self._finished(False, str(host_error))
            if host_error is not None:
                raise host_error from None
            return self._finished(False, self._trap_message(trap))
        except BaseException:
            self.dead = True
            raise
        finally:
            context, self.context = self.context, None
        if context.replaying:
            index, entry = context.recorded[context.position]
            raise ReplayDivergence(str(self.worker), index, _describe(entry), "no further host call")
        return self._finished(True, signature.result_to_json(raw))

    def _finished(self, ok: bool, result: Any) -> Outcome:
        fuel = self._fuel_used()
        self.environment.guest_work(fuel)
        return Outcome(ok, result, fuel)

    def _export(self, name: str) -> wc.Func | None:
        """The instance's exported function ``name`` (looked up once), or None."""
        func = self._funcs.get(name)
        if func is None:
            func = self.instance.get_func(self.store, name)
            if func is not None:
                self._funcs[name] = func
        return func

    def _begin_call(self) -> None:
        """Fresh fuel and deadline, a mark in the guest's output, no host error carried over."""
        self.store.set_fuel(self.limits.fuel_per_invocation)
        self._arm_deadline()
        self._output_mark = os.path.getsize(self._output_path)
        self._host_error = None

    def _fuel_used(self) -> int:
        return self.limits.fuel_per_invocation - int(self.store.get_fuel())

    def _arm_deadline(self) -> None:
        if self.limits.timeout_seconds is None:
            self.store.set_epoch_deadline(2**62)
        else:
            self.engine.start_ticker()
            self.store.set_epoch_deadline(max(1, int(self.limits.timeout_seconds / EPOCH_TICK_SECONDS)))

    def close(self) -> None:
        """Release the instance's files (the wasmtime store is freed with the object)."""
        with contextlib.suppress(OSError):
            os.unlink(self._output_path)

    def __del__(self) -> None:
        self.close()

    def _guest_output(self) -> str:
        """What the guest wrote during the current invocation (its tail)."""
        with open(self._output_path, "rb") as output:
            output.seek(max(self._output_mark, os.path.getsize(self._output_path) - STDERR_TAIL))
            return output.read().decode(errors="replace")

    def _trap_message(self, trap: Exception) -> str:
        text = str(trap)
        if "all fuel consumed" in text:
            reason = f"ran out of fuel (limit {self.limits.fuel_per_invocation:,} per invocation; an infinite loop?)"
        elif "interrupt" in text:
            reason = f"timed out: the guest ran for more than {self.limits.timeout_seconds} s without a host call"
        else:
            lines = [line for line in text.splitlines() if line.strip()]
            reason = "trap: " + (lines[-1].strip() if lines else "unknown")
        guest = self._guest_output()
        if "MemoryError" in guest:
            reason = f"out of memory (limit {self.limits.memory_bytes // (1024 * 1024)} MiB per worker); " + reason
        raised = _last_exception(guest)
        return f"{reason}; guest raised {raised}" if raised else reason

    # -- snapshots ----------------------------------------------------------------------------

    _snapshot_call: str | None = None
    """The snapshot export running (outside any invocation), if one is."""

    @property
    def supports_snapshots(self) -> bool:
        """Whether the template exports save-snapshot and load-snapshot (the snapshotting world)."""
        return _snapshot_exports_problem(self.template) is None

    def save_snapshot(self) -> bytes:
        """The guest's state, as its save-snapshot export returns it.

        Raises SnapshotError when the template has no snapshot exports, or the export traps
        (also on a host call: a snapshot function may not use one); the instance is then dead.
        """
        encoded = self._call_snapshot_export("save-snapshot")
        try:
            return base64.b64decode(encoded, validate=True)
        except (ValueError, TypeError):
            raise SnapshotError(f"save-snapshot on worker {self.worker} returned text that is not base64") from None

    def load_snapshot(self, data: bytes) -> None:
        """Replace the guest's state with ``data`` through its load-snapshot export.

        Raises SnapshotError when the template has no snapshot exports, the export traps or
        it answers with an error. After a failed load the guest's state is unknown: the
        instance is marked dead, and the worker must be rebuilt by a full replay.
        """
        raw = self._call_snapshot_export("load-snapshot", base64.b64encode(data).decode("ascii"))
        answer = self.template.function("load-snapshot").result_to_json(raw)
        if "err" in answer:
            self.dead = True
            raise SnapshotError(f"worker {self.worker} cannot load the snapshot: {answer['err']}")

    def _call_snapshot_export(self, name: str, *args: Any) -> Any:
        """Call a snapshot export with fresh fuel and deadline, as ``run`` calls a function."""
        problem = _snapshot_exports_problem(self.template)
        if problem is not None:
            raise SnapshotError(f"worker {self.worker} has no snapshots: {problem}")
        if self.dead:
            raise SnapshotError(f"{name} on worker {self.worker}: its instance trapped earlier and must be rebuilt")
        if self.context is not None:
            raise SnapshotError(f"{name} on worker {self.worker} while invocation {self.context.key} runs")
        func = self._export(name)
        if func is None:
            raise SnapshotError(f"template {self.template.name} lists {name} but the instance lacks it")
        self._begin_call()
        self._snapshot_call = name
        try:
            raw = func(self.store, *args)
            func.post_return(self.store)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
            self.dead = True
            host_error, self._host_error = self._host_error, None
            if isinstance(host_error, SnapshotError):
                raise host_error from None
            if isinstance(host_error, Exception):
                raise SnapshotError(
                    f"{name} on worker {self.worker} made a host call, which a snapshot function may not do "
                    f"(no clocks, randomness or durable calls: there is no invocation to record them in): "
                    f"{host_error}"
                ) from None
            if host_error is not None:
                raise host_error from None
            if "fuel allocated for hostcalls" in str(trap):
                raise SnapshotError(
                    f"{name} on worker {self.worker} failed: the snapshot is larger than wasmtime lets one call "
                    "move between host and guest"
                ) from None
            raise SnapshotError(f"{name} on worker {self.worker} failed: {self._trap_message(trap)}") from None
        except BaseException:
            self.dead = True
            raise
        finally:
            self._snapshot_call = None
        return raw

    def _snapshot_randomness(self, function: str, produce: Callable[[], Any]) -> Any:
        """Randomness asked for by a snapshot export: answered, unrecorded, only while loading.

        componentize-py reseeds Python's ``random`` module on an instance's first call, so
        loading a snapshot into a fresh instance reads randomness; the load then overwrites
        what depends on it (Snapshots restores the ``random`` module's state). Saving must not
        be an instance's first call: that seed would be in no oplog, and a full replay would
        then meet a reseed its record does not have.
        """
        if self._snapshot_call == "load-snapshot":
            return _canonical(produce())
        raise SnapshotError(
            f"{self._snapshot_call} on worker {self.worker} read randomness ({function}); if this was the "
            "instance's first call (componentize-py reseeds Python's random module then), run an invocation "
            "or load a snapshot into the instance before saving one"
        )

    # -- the durable core -----------------------------------------------------------------

    def _durable(
        self, function: str, request: Any, perform: Callable[[BeginRemoteWrite | None], Any], *, remote_write: bool
    ) -> Any:
        """Replay or perform a host call, recording it when live."""
        context = self.context
        if context is None:
            raise GolemError(f"host call {function} made outside of an invocation")
        if self.interrupt_requested:
            raise Interrupted(f"worker {self.worker} was interrupted")
        request = _canonical(request)
        if context.replaying:
            index, entry = context.take()
            expected_kind = BeginRemoteWrite if remote_write else HostCall
            if not isinstance(entry, expected_kind) or entry.function != function or entry.request != request:
                raise ReplayDivergence(str(self.worker), index, _describe(entry), _describe_call(function, request))
            if not remote_write:
                assert isinstance(entry, HostCall)
                return entry.response
            if context.replaying:
                result_index, result = context.take()
                if not isinstance(result, HostCall) or result.function != function:
                    raise ReplayDivergence(str(self.worker), result_index, _describe(result), f"result of {function}")
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
        response = _canonical(perform(begin))
        if remote_write:
            self._arm_deadline()  # time spent outside the guest does not count against its timeout
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
        return self.environment.wall_clock_ns() // 1_000_000

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

    # -- host functions ---------------------------------------------------------------------

    def _link(self, linker: wc.Linker) -> None:
        # The host functions reach this instance through a weak reference: wasmtime-py keeps
        # them in a process-wide table until the store is freed, and the store belongs to this
        # instance, so a strong reference would keep every dropped instance alive for good.
        this = weakref.ref(self)

        def record(function: str, request: Any, produce: Callable[[], Any]) -> Any:
            instance = _living(this)
            if instance._snapshot_call is not None and function.startswith("random."):
                return instance._snapshot_randomness(function, produce)
            return instance._durable(function, request, lambda _begin: produce(), remote_write=False)

        shadows = wasi_shadows(record, self.environment)
        with linker.root() as root:
            for interface, imported in self.template.imports.items():
                if interface == HOST_INTERFACE:
                    table: dict[str, Callable[..., Any]] = {n: _as_method(this, m) for n, m in _HOST_HANDLERS.items()}
                elif (shadow := shadow_for(shadows, interface)) is not None:
                    table = shadow
                else:
                    continue
                with root.add_instance(interface) as instance:
                    for name in imported:
                        instance.add_func(name, _guarded(this, table.get(name) or unsupported(interface, name)))

    def _call_service(self, _store: Any, service: str, operation: str, payload_json: str, key: str | None) -> Any:
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

        return _to_guest_result(self._durable("call-service", request, perform, remote_write=True))

    def _derive_key(self) -> str:
        """The next key of this invocation: a function of the worker, the invocation and a counter,
        so replay (and a re-run atomic region) derives exactly the same keys."""
        context = self.context
        assert context is not None
        context.keys_made += 1
        return str(uuid.uuid5(KEY_NAMESPACE, f"{self.worker}/{context.key}/{context.keys_made}"))

    def _new_idempotency_key(self, _store: Any) -> str:
        made = self._derive_key()
        return str(self._durable("new-idempotency-key", None, lambda _b: made, remote_write=False))

    def _sleep(self, _store: Any, millis: int) -> None:
        def perform(begin: BeginRemoteWrite | None) -> None:
            started_ms = begin.at_ms if begin is not None else self._now_ms()
            remaining = started_ms + millis - self._now_ms()
            if remaining > self.suspend_after_ms:
                raise Suspended(f"{self.worker} sleeps for {remaining} ms", until_ms=started_ms + millis)
            self.environment.sleep(max(0, remaining) / 1000)

        self._durable("sleep", {"millis": millis}, perform, remote_write=True)

    def _invoke_worker(self, _store: Any, target: Any, function: str, args_json: str) -> Any:
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

        return _to_guest_result(self._durable("invoke-worker", request, perform, remote_write=True))

    def _schedule_invocation(self, _store: Any, target: Any, function: str, args_json: str, at_millis: int) -> Any:
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

        response = self._durable("schedule-invocation", request, perform, remote_write=False)
        if "ok" in response:
            return str(response["ok"])
        return _to_guest_result(response)

    def _create_promise(self, _store: Any) -> str:
        made = f"{self.worker}/promise-{self._derive_key()}"
        promise_id = str(self._durable("create-promise", None, lambda _b: made, remote_write=False))
        self.promises.setdefault(promise_id, (False, None))
        return promise_id

    def _await_promise(self, _store: Any, promise_id: str) -> str:
        if promise_id not in self.promises:
            raise GolemError(f"{self.worker} awaits promise {promise_id!r}, which it did not create")

        def perform(_begin: BeginRemoteWrite | None) -> Any:
            completed, value = self.promises[promise_id]
            if not completed:
                raise Suspended(f"{self.worker} awaits promise {promise_id}", promise_id=promise_id)
            return value

        return json.dumps(self._durable("await-promise", {"promise_id": promise_id}, perform, remote_write=True))

    def _worker_id(self, _store: Any) -> wc.Record:
        ref = wc.Record()
        ref.template = self.worker.template
        ref.name = self.worker.name
        return ref

    def _oplog_index(self, _store: Any) -> int:
        return int(self._durable("oplog-index", None, lambda _b: self.writer.last_index, remote_write=False))

    def _begin_atomic(self, _store: Any) -> int:
        context = self.context
        assert context is not None
        if context.replaying:
            index, entry = context.take()
            if not isinstance(entry, AtomicBegin):
                raise ReplayDivergence(str(self.worker), index, _describe(entry), "begin-atomic")
            return index
        self._require_live(context, "begin-atomic")
        return self.writer.add(AtomicBegin(at_ms=self._now_ms()), durable=False)

    def _end_atomic(self, _store: Any, begin: int) -> None:
        context = self.context
        assert context is not None
        if context.replaying:
            index, entry = context.take()
            if not isinstance(entry, AtomicEnd) or entry.begin_index != begin:
                raise ReplayDivergence(str(self.worker), index, _describe(entry), f"end-atomic({begin})")
            return
        self._require_live(context, "end-atomic")
        self.writer.add(AtomicEnd(begin, at_ms=self._now_ms()), durable=True)

    def _log(self, _store: Any, level: str, message: str) -> None:
        context = self.context
        if context is None or not context.may_go_live or context.replaying:
            return  # printed once, when the code first ran: never while it is replayed
        log.log(_LOG_LEVELS.get(level.lower(), logging.INFO), "[%s] %s", self.worker, message)


def _snapshot_exports_problem(template: CompiledTemplate) -> str | None:
    """Why the template cannot save and load snapshots, or None when it can."""
    exported = {name: template.functions.get(name) for name in SNAPSHOT_EXPORTS}
    if not any(exported.values()):
        return (
            f"template {template.name} v{template.version} does not export save-snapshot and load-snapshot "
            "(its world does not include golemsim:host/snapshotting@0.1.0)"
        )
    for name, expected in SNAPSHOT_EXPORTS.items():
        signature = exported[name]
        if signature is None:
            return f"template {template.name} v{template.version} exports only one of save-snapshot, load-snapshot"
        if str(signature) != expected:
            return f"template {template.name} v{template.version} exports {signature}, but snapshots need {expected}"
    return None


def _last_exception(output: str) -> str | None:
    """The exception line of the guest's last Python traceback ("ValueError: bad input")."""
    start = output.rfind("Traceback (most recent call last):")
    if start < 0:
        return None
    for line in output[start:].splitlines()[1:]:
        if line and not line[0].isspace():
            return line.strip()
    return None


def _to_guest_result(response: Any) -> Any:
    """A recorded {"ok": json} / {"err": {case: msg}} as the WIT result<string, call-error> value."""
    if "ok" in response:
        return json.dumps(response["ok"])
    ((case, message),) = response["err"].items()
    return wc.Variant(case, message)


def _describe(entry: OplogEntry) -> str:
    function = getattr(entry, "function", None)
    request = getattr(entry, "request", None)
    if function is None:
        return entry.kind
    return f"{entry.kind} {_describe_call(function, request)}"


def _describe_call(function: str, request: Any) -> str:
    text = json.dumps(request, sort_keys=True)
    return f"{function}({text if len(text) <= 120 else text[:117] + '...'})"


_HOST_HANDLERS: dict[str, Callable[..., Any]] = {
    "call-service": WorkerInstance._call_service,
    "new-idempotency-key": WorkerInstance._new_idempotency_key,
    "sleep": WorkerInstance._sleep,
    "invoke-worker": WorkerInstance._invoke_worker,
    "create-promise": WorkerInstance._create_promise,
    "await-promise": WorkerInstance._await_promise,
    "schedule-invocation": WorkerInstance._schedule_invocation,
    "worker-id": WorkerInstance._worker_id,
    "oplog-index": WorkerInstance._oplog_index,
    "begin-atomic": WorkerInstance._begin_atomic,
    "end-atomic": WorkerInstance._end_atomic,
    "log": WorkerInstance._log,
}
"""golemsim:host/durable's functions, as methods taking the instance first."""


def _living(this: weakref.ref[WorkerInstance]) -> WorkerInstance:
    instance = this()
    if instance is None:
        raise wasmtime.WasmtimeError("host call into a worker instance that was dropped")
    return instance


def _as_method(this: weakref.ref[WorkerInstance], method: Callable[..., Any]) -> Callable[..., Any]:
    return lambda store, *args: method(_living(this), store, *args)


def _guarded(this: weakref.ref[WorkerInstance], handler: Callable[..., Any]) -> Callable[..., Any]:
    """Carry a host function's exception back to ``run`` through the instance.

    wasmtime-py passes a Python exception from a host function to the caller through one
    process-wide slot, which threads running other workers could take or overwrite. The
    exception is kept on the instance instead, and the guest is unwound with a plain wasmtime error.
    """

    def call(store: Any, *args: Any) -> Any:
        try:
            return handler(store, *args)
        except BaseException as error:
            instance = this()
            if instance is not None:
                instance._host_error = error
            raise wasmtime.WasmtimeError(f"host call failed: {error}") from None

    return call
