"""The executor: hosts workers, queues their invocations, runs, suspends and recovers them."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import uuid
from collections import OrderedDict, deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .database_lock import lock_database, release_database
from .engine import Engine
from .environment import Environment, RealEnvironment
from .errors import (
    BadRequest,
    GolemError,
    Interrupted,
    InvocationFailed,
    OplogCorruption,
    ReplayDivergence,
    Suspended,
    WorkerFailed,
)
from .history import History, InvocationRecord, WorkerStatus, analyze
from .ids import WorkerId
from .instance import Outcome, WorkerInstance
from .oplog.entries import (
    BeginRemoteWrite,
    Create,
    ErrorRecorded,
    Interrupt,
    InvocationCompleted,
    InvocationStarted,
    OplogEntry,
    PendingInvocation,
    PromiseCompleted,
    Resume,
    Suspend,
)
from .oplog.entries import InvocationFailed as FailedEntry
from .oplog.memory_store import MemoryOplogStore
from .oplog.sqlite_store import SQLiteOplogStore
from .oplog.store import OplogStore
from .oplog_writer import OplogWriter
from .policy import ResourceLimits, RetryPolicy
from .promises import promise_owner
from .recovery import replay_completed, resume_point
from .services import LedgerRegistry, ServiceRegistry
from .templates import MemoryTemplateStore, SQLiteTemplateStore, TemplateInfo, TemplateRegistry, TemplateStore
from .timers import TimerQueue, TimerThread

log = logging.getLogger("golemsim.executor")


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as listed by ``workers()``."""

    worker_id: WorkerId
    template_version: int
    status: WorkerStatus
    oplog_length: int
    error: str | None = None


@dataclass
class _Job:
    key: str
    function: str
    args: list[Any]
    future: Future[Any]
    record: InvocationRecord | None = None
    """Set for an invocation that was in flight when the executor died: replay it, then go on."""
    resumed: bool = False
    """Queued on recovery: the invocation was unfinished when the executor stopped."""
    parked: str | None = None
    """Why this started invocation waits instead of running: "sleep", "promise" or "interrupted"."""
    reload: bool = False
    """Re-read the invocation's record from the oplog before running (it was parked)."""


class _Slot:
    """Everything the executor keeps about one worker."""

    def __init__(self, worker_id: WorkerId) -> None:
        self.worker_id = worker_id
        self.lock = threading.Lock()
        self.queue: deque[_Job] = deque()
        self.draining = False
        self.loaded = False
        self.writer: OplogWriter | None = None
        self.version = 0
        self.results: dict[str, InvocationCompleted | FailedEntry] = {}
        self.waiting: dict[str, Future[Any]] = {}
        self.scheduled: dict[str, _Job] = {}
        """Accepted invocations waiting for their due time, by key."""
        self.promises: dict[str, tuple[bool, Any]] = {}
        """The worker's promises, (completed, value) by id; shared with its instance."""
        self.interrupted = False
        self.instance: WorkerInstance | None = None
        self.failure: str | None = None
        self.replayed = 0
        self.rebuilding = False
        self.loaded_history: History | None = None
        """The history read on first touch, kept for the first rebuild so the oplog is read once."""


class Executor:
    """Runs durable workers.

    >>> ex = Executor.open("golem.db")
    >>> ex.deploy("templates/counter")
    >>> ex.invoke("counter", "c1", "increment", [5], idempotency_key="k1")
    5

    Workers are created on first invocation. Invocations of one worker run one at a time
    in arrival order; different workers run in parallel. After a crash, opening the same
    database resumes every worker that had unfinished invocations.
    """

    def __init__(
        self,
        oplogs: OplogStore,
        templates: TemplateStore,
        *,
        environment: Environment | None = None,
        max_live_instances: int = 64,
        limits: ResourceLimits | None = None,
        retry: RetryPolicy | None = None,
        engine: Engine | None = None,
        suspend_after: float = 1.0,
    ) -> None:
        if max_live_instances < 1:
            raise BadRequest("max_live_instances must be at least 1")
        self.oplogs = oplogs
        self.engine = engine or Engine()
        self.templates = TemplateRegistry(templates, self.engine)
        self.environment: Environment = environment or RealEnvironment()
        if isinstance(self.environment, RealEnvironment) and self.environment.router is None:
            self.environment.router = self._route
            self.environment.scheduler = self._schedule_from_worker
        self.max_live_instances = max_live_instances
        self.suspend_after_ms = int(suspend_after * 1000)
        """A durable sleep longer than this suspends the worker and frees its instance."""
        self.limits = limits or ResourceLimits()
        self.retry = retry or RetryPolicy()
        self._slots: dict[WorkerId, _Slot] = {}
        self._slots_lock = threading.Lock()
        self._live: OrderedDict[WorkerId, _Slot] = OrderedDict()
        self._live_lock = threading.Lock()
        self._threads: set[threading.Thread] = set()
        self._closed = False
        self._lock_file: int | None = None
        self._timers = TimerQueue()
        self._timer_thread: TimerThread | None = None

    @classmethod
    def open(
        cls,
        path: str | Path = ":memory:",
        *,
        services: ServiceRegistry | None = None,
        fsync: bool = True,
        resume: bool = True,
        exclusive: bool = True,
        **options: Any,
    ) -> Executor:
        """Open an executor on a SQLite database (``":memory:"`` for in-memory stores).

        ``services`` defaults to a local deduplicating ledger next to the database. With
        ``resume`` (the default) every worker with unfinished invocations is recovered now.
        ``exclusive`` takes a lock so that two executors never share one database.
        """
        if str(path) == ":memory:":
            registry = services or LedgerRegistry(":memory:")
            executor = cls(MemoryOplogStore(), MemoryTemplateStore(), environment=RealEnvironment(registry), **options)
        else:
            db = Path(path)
            lock_fd = lock_database(db) if exclusive else None
            registry = services or LedgerRegistry(db.with_name(db.name + "-services.db"))
            executor = cls(
                SQLiteOplogStore(db, fsync=fsync),
                SQLiteTemplateStore(db),
                environment=RealEnvironment(registry),
                **options,
            )
            executor._lock_file = lock_fd
        if resume:
            executor.resume_all()
        return executor

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- templates ----------------------------------------------------------------------

    def deploy(
        self,
        source: str | Path | bytes,
        *,
        name: str | None = None,
        version: int | None = None,
        replace: bool = False,
        retry: RetryPolicy | None = None,
    ) -> TemplateInfo:
        """Deploy a template from a template folder (built first), a ``.wasm`` file or bytes.

        ``retry`` (or a folder's ``[retry]`` table in golemsim.toml) is the template's own
        retry policy for transient service failures; without one the executor's applies.
        """
        if isinstance(source, bytes):
            if name is None:
                raise BadRequest("deploying raw bytes needs a template name")
            data = source
        else:
            path = Path(source)
            if path.is_dir():
                from .build import build_template

                built = build_template(path)
                data, name = built.wasm_path.read_bytes(), name or built.name
                retry = retry or built.retry
            elif path.is_file():
                data, name = path.read_bytes(), name or path.stem
            else:
                raise BadRequest(f"no template folder or .wasm file at {path}")
        WorkerId(name, "x")  # validates the template name
        return self.templates.deploy(name, data, version=version, replace=replace, retry=retry)

    # -- invoking -------------------------------------------------------------------------

    def invoke(
        self,
        template: str,
        worker: str,
        function: str,
        args: list[Any] | tuple[Any, ...] = (),
        *,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Invoke ``function(*args)`` on a worker and return its JSON result.

        A repeated ``idempotency_key`` returns the first result without running again.
        Raises InvocationFailed (trap, limits), BadRequest, TemplateNotFound or WorkerFailed.
        """
        future, inline = self._accept(template, worker, function, args, idempotency_key, inline=True)
        if inline is not None:
            self._drain(inline, inline=True)
        return future.result(timeout)

    def submit(
        self,
        template: str,
        worker: str,
        function: str,
        args: list[Any] | tuple[Any, ...] = (),
        *,
        idempotency_key: str | None = None,
    ) -> Future[Any]:
        """Like invoke, but returns a Future once the invocation is durably accepted."""
        future, _ = self._accept(template, worker, function, args, idempotency_key, inline=False)
        return future

    def _accept(
        self,
        template: str,
        worker: str,
        function: str,
        args: list[Any] | tuple[Any, ...],
        idempotency_key: str | None,
        *,
        inline: bool,
    ) -> tuple[Future[Any], _Slot | None]:
        """Record an invocation as pending and queue it.

        With ``inline`` and an idle worker, the caller's own thread will run it (the returned
        slot says so): no thread hand-off, and the pending entry is committed together with
        the invocation's first durable entry, since the caller hears nothing before the result.
        """
        if self._closed:
            raise GolemError("executor is closed")
        worker_id = WorkerId(template, worker)
        key = idempotency_key or self._new_key()
        args = list(args)
        slot = self._slot(worker_id)
        with slot.lock:
            self._load(slot)
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            done = slot.results.get(key)
            if done is not None:
                return _finished(worker_id, done), None
            if key in slot.scheduled:
                raise BadRequest(f"invocation {key} on {worker_id} is scheduled for later; it cannot be run now")
            waiting = slot.waiting.get(key)
            if waiting is not None:
                return waiting, None
            run_here = inline and not slot.draining and not slot.queue and not slot.interrupted
            self._record_pending(slot, PendingInvocation(key, function, args), durable=not run_here)
            future: Future[Any] = Future()
            slot.waiting[key] = future
            slot.queue.append(_Job(key, function, args, future))
            if run_here:
                slot.draining = True
                return future, slot
            self._start_draining(slot)
        return future, None

    def _new_key(self) -> str:
        # Drawn from the environment, so a simulation seeded alike makes the same keys.
        return str(uuid.UUID(bytes=self.environment.random_bytes(16), version=4))

    def _record_pending(self, slot: _Slot, pending: PendingInvocation, *, durable: bool) -> None:
        """Check the arguments, then write the pending entry (after Create for a new worker).
        The caller holds the slot's lock."""
        assert slot.writer is not None
        template = slot.worker_id.template
        compiled = self.templates.get(template, slot.version or None)
        compiled.function(pending.function).args_from_json(pending.args)  # reject bad arguments first
        now = self._now_ms()
        if slot.writer.last_index == 0:
            slot.version = compiled.version
            slot.writer.add(Create(template, compiled.version, compiled.component_hash, at_ms=now), durable=False)
        slot.writer.add(dataclasses.replace(pending, at_ms=now), durable=durable)

    def _route(self, target: WorkerId, function: str, args: list[Any], key: str) -> Any:
        return self.invoke(target.template, target.name, function, args, idempotency_key=key)

    def schedule(
        self,
        template: str,
        worker: str,
        function: str,
        args: list[Any] | tuple[Any, ...] = (),
        *,
        at_ms: int,
        idempotency_key: str | None = None,
    ) -> str:
        """Durably schedule ``function(*args)`` on a worker for wall-clock time ``at_ms``
        (milliseconds since the epoch; a time in the past means now). Returns the key.

        The invocation runs once when its time comes, also if the executor restarts before
        then; scheduling the same key again changes nothing.
        """
        if self._closed:
            raise GolemError("executor is closed")
        worker_id = WorkerId(template, worker)
        key = idempotency_key or self._new_key()
        args = list(args)
        slot = self._slot(worker_id)
        with slot.lock:
            self._load(slot)
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            if key in slot.results or key in slot.waiting or key in slot.scheduled:
                return key
            self._record_pending(slot, PendingInvocation(key, function, args, due_ms=at_ms), durable=True)
            self._arm(slot, _Job(key, function, args, Future()), at_ms)
        return key

    def _schedule_from_worker(self, target: WorkerId, function: str, args: list[Any], due_ms: int, key: str) -> None:
        self.schedule(target.template, target.name, function, args, at_ms=due_ms, idempotency_key=key)

    def _arm(self, slot: _Slot, job: _Job, due_ms: int) -> None:
        """Hold a scheduled job until its time (caller holds the slot's lock)."""
        slot.scheduled[job.key] = job
        slot.waiting[job.key] = job.future
        self._add_timer(due_ms, slot.worker_id, job.key)

    def _add_timer(self, due_ms: int, worker_id: WorkerId, key: str) -> None:
        self._timers.add(due_ms, worker_id, key)
        if self._timer_thread is None:
            self._timer_thread = TimerThread(self._timers, self._now_ms, self._fire)

    def _fire(self, worker_id: WorkerId, key: str) -> None:
        """A scheduled invocation is due: queue it like any other."""
        slot = self._slot(worker_id)
        with slot.lock:
            job = slot.scheduled.pop(key, None)
            if job is None:
                parked = slot.queue[0] if slot.queue else None
                if parked is not None and parked.key == key and parked.parked == "sleep":
                    self._wake(slot, parked)
                return
            if self._closed:
                return
            if slot.failure is not None:
                slot.waiting.pop(key, None)
                job.future.set_exception(WorkerFailed(slot.failure))
                return
            slot.queue.append(job)
            self._start_draining(slot)

    def _wake(self, slot: _Slot, job: _Job) -> None:
        """A parked invocation may go on (caller holds the slot's lock)."""
        job.parked = None
        job.reload = True
        self._start_draining(slot)

    def scheduled(self) -> list[tuple[WorkerId, str]]:
        """Scheduled invocations not yet due, as (worker, key)."""
        with self._slots_lock:
            slots = list(self._slots.values())
        return [(slot.worker_id, key) for slot in slots for key in list(slot.scheduled)]

    # -- inspection -------------------------------------------------------------------------

    def oplog(self, worker: WorkerId | str, start: int = 1) -> list[tuple[int, OplogEntry]]:
        """A worker's oplog as (index, entry) pairs. Raises OplogCorruption at a bad entry."""
        worker_id = WorkerId.parse(worker) if isinstance(worker, str) else worker
        return list(enumerate(self.oplogs.read(worker_id, start), start))

    def workers(self) -> list[WorkerInfo]:
        """Every worker with template version, status and oplog length."""
        infos = []
        for worker_id, length in self.oplogs.workers():
            slot = self._slots.get(worker_id)
            live = slot is not None and slot.instance is not None
            try:
                history = analyze(self.oplog(worker_id))
            except OplogCorruption as error:
                infos.append(WorkerInfo(worker_id, 0, WorkerStatus.FAILED, length, str(error)))
                continue
            version = history.create.version if history.create else 0
            infos.append(WorkerInfo(worker_id, version, history.status(live), length, history.fatal_error))
        return infos

    def list_templates(self) -> list[TemplateInfo]:
        return self.templates.list()

    # -- recovery and scheduling ------------------------------------------------------------

    def resume_all(self) -> int:
        """Recover every worker that has unfinished invocations; returns how many."""
        resumed = 0
        for worker_id, _length in self.oplogs.workers():
            slot = self._slot(worker_id)
            with slot.lock:
                self._load(slot)
                if slot.queue:
                    resumed += 1
        return resumed

    def _slot(self, worker_id: WorkerId) -> _Slot:
        with self._slots_lock:
            slot = self._slots.get(worker_id)
            if slot is None:
                slot = self._slots[worker_id] = _Slot(worker_id)
            return slot

    def _load(self, slot: _Slot) -> None:
        """First touch of a worker: digest its oplog; queue what a crash left unfinished."""
        if slot.loaded:
            return
        slot.loaded = True
        try:
            entries = self.oplog(slot.worker_id)
        except OplogCorruption as error:
            slot.failure = str(error)
            log.error("%s", error)
            return
        history = analyze(entries)
        slot.loaded_history = history
        slot.writer = OplogWriter(slot.worker_id, self.oplogs, self.environment, history.length)
        slot.version = history.create.version if history.create else 0
        slot.results = history.results()
        if history.fatal_error is not None:
            slot.failure = f"worker {slot.worker_id} failed: {history.fatal_error}"
            return
        slot.promises = dict(history.promises)
        slot.interrupted = history.interrupted
        unfinished: list[_Job] = []
        if history.in_flight is not None:
            record = history.in_flight
            job = _Job(record.idempotency_key, record.function, record.args, Future(), record, True)
            self._park_if_waiting(slot, job, record.waiting_on)
            unfinished.append(job)
        now = self._now_ms()
        for pending in history.pending:
            job = _Job(pending.idempotency_key, pending.function, pending.args, Future())
            if pending.due_ms is not None and pending.due_ms > now:
                self._arm(slot, job, pending.due_ms)
            else:
                job.resumed = True
                unfinished.append(job)
        for job in unfinished:
            slot.waiting[job.key] = job.future
            slot.queue.append(job)
        if unfinished:
            log.info("resuming %s: %d unfinished invocation(s)", slot.worker_id, len(unfinished))
            if unfinished[0].parked is None:
                self._start_draining(slot)

    def _park_if_waiting(self, slot: _Slot, job: _Job, waiting_on: BeginRemoteWrite | None) -> None:
        """An invocation found stopped in a sleep or promise await stays parked until its wake-up."""
        if waiting_on is None:
            return
        if waiting_on.function == "sleep":
            until = waiting_on.at_ms + int(waiting_on.request["millis"])
            if until - self._now_ms() > self.suspend_after_ms:
                job.parked = "sleep"
                self._add_timer(until, slot.worker_id, job.key)
        elif not slot.promises.get(str(waiting_on.request["promise_id"]), (False, None))[0]:
            job.parked = "promise"

    def _start_draining(self, slot: _Slot) -> None:
        if slot.draining or self._closed:
            return
        slot.draining = True
        thread = threading.Thread(target=self._drain, args=(slot,), name=f"worker-{slot.worker_id}", daemon=True)
        self._threads.add(thread)
        thread.start()

    def _drain(self, slot: _Slot, *, inline: bool = False) -> None:
        """Run the worker's queue in order. Inline (on a caller's thread) it runs one job, then hands off."""
        try:
            while True:
                with slot.lock:
                    if (
                        not slot.queue
                        or self._closed
                        or slot.failure is not None
                        or slot.interrupted
                        or slot.queue[0].parked
                    ):
                        slot.draining = False
                        self._release_queue(slot)
                        return
                    job = slot.queue[0]
                try:
                    self._run(slot, job)
                except BaseException as error:  # never strand a caller: a bug here fails the job loudly
                    log.exception("internal error running %s on %s", job.function, slot.worker_id)
                    slot.instance = None
                    if not job.future.done():
                        job.future.set_exception(GolemError(f"internal error: {error!r}"))
                with slot.lock:
                    if job.parked is not None:  # it waits now; the wake-up drains again
                        slot.draining = False
                        return
                    if job.reload:  # woken while it was being parked: run it again from the oplog
                        continue
                    slot.queue.popleft()
                    slot.waiting.pop(job.key, None)
                    if inline:
                        slot.draining = False
                        if slot.queue or slot.failure is not None:
                            self._start_draining(slot)
                self._enforce_live_limit(slot)
                if inline:
                    return
        finally:
            self._threads.discard(threading.current_thread())

    def _release_queue(self, slot: _Slot) -> None:
        """Answer the callers of jobs that will not run here: the worker failed, or we are closing."""
        if slot.failure is not None:
            error: GolemError = WorkerFailed(slot.failure)
        elif self._closed:
            error = Interrupted(
                f"executor closed before running this invocation on {slot.worker_id}; "
                "it is durably pending and resumes when the database is opened again"
            )
        else:
            return
        while slot.queue:
            job = slot.queue.popleft()
            slot.waiting.pop(job.key, None)
            if not job.future.done():
                job.future.set_exception(error)

    def _run(self, slot: _Slot, job: _Job) -> None:
        writer = slot.writer
        assert writer is not None
        try:
            instance = self._instance(slot)
            if job.reload:
                writer.flush()
                job.record = analyze(self.oplog(slot.worker_id)).in_flight
                job.reload = False
                if job.record is None or job.record.idempotency_key != job.key:
                    raise GolemError(f"parked invocation {job.key} of {slot.worker_id} is not in flight in the oplog")
            recorded: list[tuple[int, OplogEntry]] = []
            if job.record is None:
                writer.add(InvocationStarted(job.key, job.function, job.args, at_ms=self._now_ms()), durable=False)
            else:
                recorded = resume_point(writer, job.record, self._now_ms())
            outcome = instance.run(job.key, job.function, job.args, recorded, may_go_live=True)
            if instance.dead:
                slot.instance = None
        except (ReplayDivergence, OplogCorruption) as error:
            self._fail_worker(slot, error)
            job.future.set_exception(WorkerFailed(str(error)))
            return
        except Suspended as wait:
            # A long sleep or an unfinished promise: drop the instance, keep the invocation
            # in flight; the timer or the promise's completion resumes it from the oplog.
            slot.instance = None
            writer.flush()
            with slot.lock:
                job.reload = True
                if wait.promise_id is not None and slot.promises.get(wait.promise_id, (False, None))[0]:
                    return  # completed while this run was stopping: the drain runs it again
                job.parked = "sleep" if wait.until_ms is not None else "promise"
                if slot.interrupted:
                    job.parked = "interrupted"
                if wait.until_ms is not None:
                    self._add_timer(wait.until_ms, slot.worker_id, job.key)
            return
        except Interrupted:
            slot.instance = None
            writer.discard_buffer()
            if slot.interrupted:  # an operator's interrupt: the invocation waits for resume()
                with slot.lock:
                    job.parked, job.reload = "interrupted", True
                    self._answer_interrupted(slot, job)
                return
            # The executor is stopping this run (a shutdown, or a crash in the simulation):
            # nothing more is written; the invocation resumes from the oplog on recovery.
            raise
        except GolemError as error:
            slot.instance = None
            outcome = Outcome(False, str(error), 0)
        except Exception as error:  # a bug outside the guest must not leave the invocation dangling
            log.exception("unexpected error in %s on %s", job.function, slot.worker_id)
            slot.instance = None
            outcome = Outcome(False, f"internal error: {error!r}", 0)
        now = self._now_ms()
        entry: InvocationCompleted | FailedEntry
        if outcome.ok:
            entry = InvocationCompleted(job.key, outcome.result, outcome.fuel, at_ms=now)
        else:
            entry = FailedEntry(job.key, str(outcome.result), outcome.fuel, at_ms=now)
        writer.add(entry, durable=True)
        slot.results[job.key] = entry
        if outcome.ok:
            job.future.set_result(outcome.result)
        else:
            job.future.set_exception(InvocationFailed(str(slot.worker_id), job.function, str(outcome.result)))

    def _fail_worker(self, slot: _Slot, error: Exception) -> None:
        """A worker that cannot go on: record why (unless its oplog is corrupt) and keep every byte."""
        log.error("worker %s failed: %s", slot.worker_id, error)
        slot.failure = str(error)
        slot.instance = None
        if slot.writer is not None and not isinstance(error, OplogCorruption):
            slot.writer.discard_buffer()
            try:
                slot.writer.add(ErrorRecorded(str(error), transient=False, at_ms=self._now_ms()), durable=True)
            except GolemError as store_error:
                log.error("could not record the failure of %s: %s", slot.worker_id, store_error)

    def _instance(self, slot: _Slot) -> WorkerInstance:
        """The worker's live instance; rebuilt by replaying its completed invocations if needed."""
        if slot.instance is not None and not slot.instance.dead:
            self._touch(slot)
            return slot.instance
        assert slot.writer is not None
        # Completed invocations only come from a live instance, so the history read on first
        # touch still holds every one of them until the first rebuild.
        history, slot.loaded_history = slot.loaded_history, None
        if history is None:
            slot.writer.flush()
            history = analyze(self.oplog(slot.worker_id))
        slot.rebuilding = True
        try:
            instance = self._replay(slot, history)
        finally:
            slot.rebuilding = False
        slot.instance = instance
        self._touch(slot)
        return instance

    def _replay(self, slot: _Slot, history: History) -> WorkerInstance:
        assert slot.writer is not None
        compiled = self.templates.get(slot.worker_id.template, slot.version or None)
        instance = WorkerInstance(
            slot.worker_id,
            compiled,
            self.engine,
            self.environment,
            slot.writer,
            self.limits,
            compiled.retry or self.retry,
            promises=slot.promises,
            suspend_after_ms=self.suspend_after_ms,
        )
        slot.replayed = replay_completed(instance, history)
        return instance

    def _touch(self, slot: _Slot) -> None:
        with self._live_lock:
            self._live[slot.worker_id] = slot
            self._live.move_to_end(slot.worker_id)

    def _enforce_live_limit(self, current: _Slot) -> None:
        """Suspend least recently used idle workers while more than the limit are live."""
        while True:
            with self._live_lock:
                if len(self._live) <= self.max_live_instances:
                    return
                victim = next((s for s in self._live.values() if s is not current and not s.draining), None)
                if victim is None:
                    return
                del self._live[victim.worker_id]
            self._suspend(victim)

    def _suspend(self, slot: _Slot) -> None:
        with slot.lock:
            if slot.instance is None or slot.draining or slot.writer is None:
                return
            slot.instance = None
            slot.writer.add(Suspend(at_ms=self._now_ms()), durable=True)

    def restart_worker(self, worker: WorkerId | str) -> int:
        """Drop a worker's instance and rebuild it from its oplog now, as after a crash.

        Returns how many completed invocations were replayed. Raises GolemError if the worker
        is running an invocation, WorkerFailed if it cannot be recovered.
        """
        worker_id = WorkerId.parse(worker) if isinstance(worker, str) else worker
        slot = self._slot(worker_id)
        with slot.lock:
            self._load(slot)
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            if slot.draining:
                raise GolemError(f"worker {worker_id} is running an invocation; restart it when idle")
            if slot.writer is None or slot.writer.last_index == 0:
                raise BadRequest(f"worker {worker_id} does not exist")
            slot.instance = None
            try:
                self._instance(slot)
            except (ReplayDivergence, OplogCorruption) as error:
                self._fail_worker(slot, error)
                raise WorkerFailed(str(error)) from None
            return slot.replayed

    def recovering(self, template: str, worker: str) -> bool:
        """True while the worker's instance is rebuilt by replay or invocations resumed after a crash run.

        Read without taking the worker's lock, so a caller (the gateway) can answer "try again"
        instead of queueing behind a recovery.
        """
        slot = self._slots.get(WorkerId(template, worker))
        if slot is None:
            return False
        if slot.rebuilding:
            return True
        try:
            head = slot.queue[0]  # resumed jobs are queued first, before any new one
        except IndexError:
            return False
        return head.resumed and head.parked is None

    # -- promises and operator controls --------------------------------------------------------

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        """Complete a worker's promise with a JSON value; a worker awaiting it resumes with it.

        Returns False if it was completed before (the first value stands: exactly once).
        Raises BadRequest for an unknown promise or a value that is not JSON.
        """
        worker_id = promise_owner(promise_id)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise BadRequest(f"the value for promise {promise_id} is not JSON") from None
        slot = self._slot(worker_id)
        with slot.lock:
            self._load(slot)
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            known = slot.promises.get(promise_id)
            if known is None:
                raise BadRequest(f"worker {worker_id} has no promise {promise_id!r}")
            if known[0]:
                return False
            assert slot.writer is not None
            slot.writer.add(PromiseCompleted(promise_id, value, at_ms=self._now_ms()), durable=True)
            slot.promises[promise_id] = (True, value)
            head = slot.queue[0] if slot.queue else None
            if head is not None and head.parked == "promise":
                self._wake(slot, head)
        return True

    def promises(self, worker: WorkerId | str) -> dict[str, tuple[bool, Any]]:
        """A worker's promises by id: (completed, value)."""
        slot = self._existing(worker)
        with slot.lock:
            return dict(slot.promises)

    def interrupt(self, worker: WorkerId | str) -> None:
        """Stop a worker: a running invocation stops at its next host call and, with any queued
        ones, waits (durably) until ``resume``. Its caller gets Interrupted now."""
        slot = self._existing(worker)
        with slot.lock:
            if slot.interrupted:
                return
            assert slot.writer is not None
            slot.interrupted = True
            slot.writer.add(Interrupt(at_ms=self._now_ms()), durable=True)
            head = slot.queue[0] if slot.queue else None
            if head is not None and head.parked is not None:
                head.parked = "interrupted"
                self._answer_interrupted(slot, head)
            if slot.instance is not None and slot.draining:
                slot.instance.interrupt_requested = True

    def resume(self, worker: WorkerId | str) -> bool:
        """Let an interrupted worker go on where it stopped. Returns False if it was not interrupted."""
        slot = self._existing(worker)
        with slot.lock:
            if not slot.interrupted:
                return False
            assert slot.writer is not None
            slot.interrupted = False
            slot.writer.add(Resume(at_ms=self._now_ms()), durable=True)
            head = slot.queue[0] if slot.queue else None
            if head is not None and head.parked == "interrupted":
                head.parked = None
            if slot.queue:
                self._start_draining(slot)
        return True

    def _answer_interrupted(self, slot: _Slot, job: _Job) -> None:
        """Tell a parked job's caller it was interrupted; a fresh future waits for the resumed run."""
        if not job.future.done():
            job.future.set_exception(
                Interrupted(f"worker {slot.worker_id} was interrupted; the invocation resumes on resume()")
            )
        job.future = Future()
        slot.waiting[job.key] = job.future

    def _existing(self, worker: WorkerId | str) -> _Slot:
        worker_id = WorkerId.parse(worker) if isinstance(worker, str) else worker
        slot = self._slot(worker_id)
        with slot.lock:
            self._load(slot)
            if slot.writer is None or slot.writer.last_index == 0:
                raise BadRequest(f"worker {worker_id} does not exist")
        return slot

    def live_instances(self) -> int:
        """How many workers hold a live instance now."""
        with self._live_lock:
            return sum(1 for slot in self._live.values() if slot.instance is not None)

    def _now_ms(self) -> int:
        return self.environment.wall_clock_ns() // 1_000_000

    # -- shutdown -------------------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Finish running invocations (up to ``timeout``), suspend live workers, release the database."""
        if self._closed:
            return
        for thread in list(self._threads):
            thread.join(timeout)
        self._closed = True
        if self._timer_thread is not None:
            self._timer_thread.stop()
        with self._live_lock:
            live = list(self._live.values())
            self._live.clear()
        for slot in live:
            self._suspend(slot)
        for slot in list(self._slots.values()):
            if slot.writer is not None and slot.failure is None:
                slot.writer.flush()
            with slot.lock:
                self._release_queue(slot)  # parked invocations: their callers hear why
        self.oplogs.close()
        self.engine.stop()
        if self._lock_file is not None:
            release_database(self._lock_file)
            self._lock_file = None


def _finished(worker_id: WorkerId, outcome: InvocationCompleted | FailedEntry) -> Future[Any]:
    future: Future[Any] = Future()
    if isinstance(outcome, InvocationCompleted):
        future.set_result(outcome.result)
    else:
        future.set_exception(InvocationFailed(str(worker_id), "(earlier invocation)", outcome.error))
    return future
