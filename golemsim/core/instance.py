"""A live worker instance: a wasmtime store and instance of a template, its limits (memory,
fuel, time), the calls into its exports (invocations and snapshot functions), and the
explanation of a trap. Its host functions, recorded and replayed, are a DurableHost
(durable_host.py), linked in here.
"""

from __future__ import annotations

import base64
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import wasmtime
from wasmtime import component as wc

from . import fast_calls
from .durable_host import HOST_FUNCTIONS, HOST_INTERFACE, DurableHost, InvocationContext, canonical, describe_entry
from .engine import EPOCH_TICK_SECONDS, Engine
from .environment import Environment
from .errors import GolemError, ReplayDivergence, SnapshotError, UnsupportedHostCall
from .guest_output import GuestOutput
from .ids import WorkerId
from .oplog.entries import OplogEntry
from .oplog_writer import OplogWriter
from .policy import ResourceLimits, RetryPolicy
from .templates import CompiledTemplate, TemplateRegistry
from .wasi_shadows import shadow_for, unsupported, wasi_shadows

SNAPSHOT_EXPORTS = {
    "save-snapshot": "save-snapshot() -> string",
    "load-snapshot": "load-snapshot(data: string) -> result<_, string>",
}
"""The snapshotting world's exports, as FunctionSignature prints them."""
STDERR_TAIL = 2000


@dataclass(frozen=True)
class Outcome:
    """How one run of an invocation ended."""

    ok: bool
    result: Any
    """The JSON result when ok, else the error message."""
    fuel: int


class _Trapped(Exception):
    """An export call trapped; ``host_error`` is what a host function raised, if one did."""

    def __init__(self, trap: Exception, host_error: BaseException | None) -> None:
        super().__init__(str(trap))
        self.trap = trap
        self.host_error = host_error


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
        self.limits = limits
        # The host functions reach this instance through a weak reference: wasmtime-py keeps
        # them in a process-wide table until the store is freed, and the store belongs to this
        # instance, so a strong reference would keep every dropped instance alive for good.
        this = weakref.ref(self)
        self.durable = DurableHost(
            worker,
            environment,
            writer,
            retry,
            promises=promises if promises is not None else {},
            suspend_after_ms=suspend_after_ms,
            rearm=lambda: _living(this)._arm_deadline(),
        )
        """The host functions, with the running invocation's record and replay."""
        self.on_replayed: Callable[[int], None] | None = None
        """Told the oplog index of each recorded entry replayed (a resumed invocation's progress)."""
        self._host_error: BaseException | None = None
        self.dead = False
        self._fast = fast = fast_calls.enabled()
        """Whether this instance goes through fast_calls (else through wasmtime-py as it is)."""
        self.store = wasmtime.Store(engine.wasmtime)
        self.store.set_limits(memory_size=limits.memory_bytes)
        # Guest output goes to a private file (read back to explain traps). A Python callback
        # would be called from wasmtime's I/O threads, which aborts the process at exit.
        self._output = GuestOutput(pooled=fast)
        wasi = wasmtime.WasiConfig()
        wasi.stdout_file = self._output.path
        wasi.stderr_file = self._output.path
        self.store.set_wasi(wasi)
        self.store.set_fuel(limits.fuel_per_invocation)
        self._arm_deadline()
        host = self._host_table(this)
        self.host_functions = list(host.values())
        """This instance's host functions, in the order of ``host``'s keys (fast_calls.HostTarget)."""
        self._calls: fast_calls.ComponentCalls | None = None
        try:
            if fast:
                # One linker per compiled component; this store's host calls reach this instance.
                self._calls = fast_calls.component_calls(engine.wasmtime, template.component, list(host))
                self.instance = self._calls.instantiate(self.store, template.component, self)
            else:
                self.instance = self._own_linker(host, this).instantiate(self.store, template.component)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as error:
            raise GolemError(f"cannot instantiate template {template.name} for {worker}: {error}") from None
        self._funcs: dict[str, Any] = {}

    @property
    def context(self) -> InvocationContext | None:
        """The invocation running now, if one is."""
        return self.durable.context

    @property
    def interrupt_requested(self) -> bool:
        """Set from another thread: the next host call raises Interrupted."""
        return self.durable.interrupt_requested

    @interrupt_requested.setter
    def interrupt_requested(self, requested: bool) -> None:
        self.durable.interrupt_requested = requested

    @property
    def on_caught_up(self) -> Callable[[int], None] | None:
        """Told when a resumed invocation's replay reaches where it stopped (with the entries replayed)."""
        return self.durable.on_caught_up

    @on_caught_up.setter
    def on_caught_up(self, listener: Callable[[int], None] | None) -> None:
        self.durable.on_caught_up = listener

    # -- running invocations -----------------------------------------------------------

    def run(
        self,
        key: str,
        function: str,
        args: list[Any],
        recorded: list[tuple[int, OplogEntry]],
        *,
        may_go_live: bool,
        typed_args: list[Any] | None = None,
    ) -> Outcome:
        """Run one invocation: replay ``recorded``, then (if allowed) continue live.

        ``typed_args``: ``args`` already converted to typed values for this template version
        (when the executor checked them on acceptance); else they are converted here.

        A trap, fuel exhaustion, timeout or the memory limit give Outcome(ok=False); the
        instance is then dead (``dead``) and must be rebuilt. Raises ReplayDivergence if the
        guest does not do what the record says.
        """
        signature = self.template.function(function)
        if typed_args is None:
            typed_args = signature.args_from_json(args)
        func = self._export(function)
        if func is None:
            raise GolemError(f"template {self.template.name} lists {function} but the instance lacks it")
        context = self.durable.context = InvocationContext(key, recorded, may_go_live=may_go_live)
        context.on_take = self.on_replayed
        try:
            raw = self._call_export(func, typed_args)
        except _Trapped as trapped:
            if isinstance(trapped.host_error, UnsupportedHostCall):
                return self._finished(False, str(trapped.host_error))
            if trapped.host_error is not None:
                raise trapped.host_error from None
            return self._finished(False, self._trap_message(trapped.trap))
        finally:
            self.durable.context = None
        if context.replaying:
            index, entry = context.recorded[context.position]
            raise ReplayDivergence(str(self.worker), index, describe_entry(entry), "no further host call")
        return self._finished(True, signature.result_to_json(raw))

    def _finished(self, ok: bool, result: Any) -> Outcome:
        fuel = self._fuel_used()
        self.environment.guest_work(fuel)
        return Outcome(ok, result, fuel)

    def _export(self, name: str) -> Any:
        """The instance's exported function ``name`` (looked up once), or None: a wasmtime
        ``Func``, or a FastExport that calls it the same way with its types read once."""
        func = self._funcs.get(name)
        if func is None:
            if self._calls is not None:
                func = self._calls.export(self.instance, self.store, name)
            else:
                func = self.instance.get_func(self.store, name)
            if func is not None:
                self._funcs[name] = func
        return func

    def _call_export(self, func: Any, args: Any) -> Any:
        """Call an export with fresh fuel and deadline. A trap (or anything else that escapes the
        guest) leaves the instance dead; a trap is raised as _Trapped, for the caller to explain."""
        self._begin_call()
        try:
            raw = func(self.store, *args)
            func.post_return(self.store)
            return raw
        except (wasmtime.Trap, wasmtime.WasmtimeError) as trap:
            self.dead = True
            host_error, self._host_error = self._host_error, None
            raise _Trapped(trap, host_error) from None
        except BaseException:
            self.dead = True
            raise

    def _begin_call(self) -> None:
        """Fresh fuel and deadline, a mark in the guest's output, no host error carried over."""
        if self._fast:
            fast_calls.set_fuel(self.store, self.limits.fuel_per_invocation)
        else:
            self.store.set_fuel(self.limits.fuel_per_invocation)
        self._arm_deadline()
        self._output.mark()
        self._host_error = None

    def _fuel_used(self) -> int:
        left = fast_calls.get_fuel(self.store) if self._fast else self.store.get_fuel()
        return self.limits.fuel_per_invocation - int(left)

    def _arm_deadline(self) -> None:
        if self.limits.timeout_seconds is None:
            ticks = 2**62
        else:
            self.engine.start_ticker()
            ticks = max(1, int(self.limits.timeout_seconds / EPOCH_TICK_SECONDS))
        if self._fast:
            fast_calls.set_epoch_deadline(self.store, ticks)
        else:
            self.store.set_epoch_deadline(ticks)

    def close(self) -> None:
        """Release the instance's output file (the wasmtime store is freed with the object)."""
        output = getattr(self, "_output", None)
        if output is not None:
            output.release()

    def __del__(self) -> None:
        self.close()

    def _guest_output(self) -> str:
        """What the guest wrote during the current invocation (its tail)."""
        return self._output.tail(STDERR_TAIL)

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
        self._snapshot_call = name
        try:
            return self._call_export(func, args)
        except _Trapped as trapped:
            self._explain_snapshot_trap(name, trapped)
        finally:
            self._snapshot_call = None

    def _explain_snapshot_trap(self, name: str, trapped: _Trapped) -> NoReturn:
        host_error = trapped.host_error
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
        if "fuel allocated for hostcalls" in str(trapped.trap):
            raise SnapshotError(
                f"{name} on worker {self.worker} failed: the snapshot is larger than wasmtime lets one call "
                "move between host and guest"
            ) from None
        raise SnapshotError(f"{name} on worker {self.worker} failed: {self._trap_message(trapped.trap)}") from None

    def _snapshot_randomness(self, function: str, produce: Callable[[], Any]) -> Any:
        """Randomness asked for by a snapshot export: answered, unrecorded, only while loading.

        componentize-py reseeds Python's ``random`` module on an instance's first call, so
        loading a snapshot into a fresh instance reads randomness; the load then overwrites
        what depends on it (Snapshots restores the ``random`` module's state). Saving must not
        be an instance's first call: that seed would be in no oplog, and a full replay would
        then meet a reseed its record does not have.
        """
        if self._snapshot_call == "load-snapshot":
            return canonical(produce())
        raise SnapshotError(
            f"{self._snapshot_call} on worker {self.worker} read randomness ({function}); if this was the "
            "instance's first call (componentize-py reseeds Python's random module then), run an invocation "
            "or load a snapshot into the instance before saving one"
        )

    # -- linking the host functions ------------------------------------------------------------

    def _host_table(self, this: weakref.ref[WorkerInstance]) -> dict[tuple[str, str], Callable[..., Any]]:
        """golemsim:host/durable and the recorded WASI shadows, by (interface, function), each
        called as wasmtime-py calls a host function (the store first); a function of those
        interfaces that golemsim does not serve fails the invocation that calls it. Other
        imports are left to wasmtime's WASI."""

        def record(function: str, request: Any, produce: Callable[[], Any]) -> Any:
            instance = _living(this)
            if instance._snapshot_call is not None and function.startswith("random."):
                return instance._snapshot_randomness(function, produce)
            return instance.durable.record(function, request, produce)

        shadows = wasi_shadows(record, self.environment)
        host: dict[tuple[str, str], Callable[..., Any]] = {}
        for interface, imported in self.template.imports.items():
            if interface == HOST_INTERFACE:
                table: dict[str, Callable[..., Any]] = {n: _as_method(this, m) for n, m in HOST_FUNCTIONS.items()}
            elif (shadow := shadow_for(shadows, interface)) is not None:
                table = shadow
            else:
                continue
            for name in imported:
                host[(interface, name)] = table.get(name) or unsupported(interface, name)
        return host

    def host_call_failed(self, error: BaseException) -> None:
        """A host function raised ``error`` (fast_calls.HostTarget): ``run`` re-raises it."""
        self._host_error = error

    def _own_linker(
        self, host: dict[tuple[str, str], Callable[..., Any]], this: weakref.ref[WorkerInstance]
    ) -> wc.Linker:
        """A linker of this instance's own, through wasmtime-py's add_func (fast_calls turned off)."""
        linker = wc.Linker(self.engine.wasmtime)
        linker.allow_shadowing = True
        linker.add_wasip2()
        by_interface: dict[str, list[tuple[str, Callable[..., Any]]]] = {}
        for (interface, name), handler in host.items():
            by_interface.setdefault(interface, []).append((name, handler))
        with linker.root() as root:
            for interface, handlers in by_interface.items():
                with root.add_instance(interface) as instance:
                    for name, handler in handlers:
                        instance.add_func(name, _guarded(this, handler))
        return linker


def fresh_instance(
    worker: WorkerId,
    templates: TemplateRegistry,
    environment: Environment,
    writer: OplogWriter,
    *,
    limits: ResourceLimits,
    retry: RetryPolicy,
    version: int = 0,
    compiled: CompiledTemplate | None = None,
    promises: dict[str, tuple[bool, Any]] | None = None,
    suspend_after_ms: int = 1000,
) -> WorkerInstance:
    """A fresh, empty instance of ``worker``'s template at ``version`` (0: the newest), or of
    ``compiled``. ``retry`` applies when the template carries no retry policy of its own."""
    compiled = compiled or templates.get(worker.template, version or None)
    return WorkerInstance(
        worker,
        compiled,
        templates.engine,
        environment,
        writer,
        limits,
        compiled.retry or retry,
        promises=promises,
        suspend_after_ms=suspend_after_ms,
    )


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


def _living(this: weakref.ref[WorkerInstance]) -> WorkerInstance:
    instance = this()
    if instance is None:
        raise wasmtime.WasmtimeError("host call into a worker instance that was dropped")
    return instance


def _as_method(this: weakref.ref[WorkerInstance], method: Callable[..., Any]) -> Callable[..., Any]:
    """A host function of the instance's DurableHost, as wasmtime calls it (the store first)."""
    return lambda _store, *args: method(_living(this).durable, *args)


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
