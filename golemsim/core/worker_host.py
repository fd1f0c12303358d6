"""The machinery under the Executor: accepting invocations, queueing them per worker, running,
parking and recovering them, timers and snapshots.

The Executor composes a WorkerHost and offers every public control; what it uses of the host
is the host's public surface below (no underscore). The host keeps its workers in a
WorkerTable and routes calls between them through LocalCalls."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from .engine import Engine
from .environment import Environment, RealEnvironment, TimerDriver, WorkerCall, wall_clock_ms
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
from .history import analyze
from .ids import WorkerId
from .instance import Outcome, WorkerInstance
from .local_calls import LocalCalls
from .oplog.entries import (
    BeginRemoteWrite,
    Create,
    ErrorRecorded,
    InvocationCompleted,
    InvocationStarted,
    OplogEntry,
    PendingInvocation,
    Suspend,
)
from .oplog.entries import InvocationFailed as FailedEntry
from .oplog.store import OplogStore
from .oplog_writer import OplogWriter
from .policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from .recovery import resume_point
from .services import ServiceRegistry
from .templates import (
    TemplateRegistry,
    TemplateStore,
)
from .timers import TimerQueue
from .worker_instances import WorkerInstances
from .worker_slot import Job, Park, TypedArgs, WorkerSlot
from .worker_table import WorkerTable

log = logging.getLogger("golemsim.executor")


class WorkerHost:
    """Hosts workers: one queue per worker, run in order; instances rebuilt from the oplog."""

    def __init__(
        self,
        oplogs: OplogStore,
        templates: TemplateStore | TemplateRegistry,
        *,
        services: ServiceRegistry | None = None,
        environment: Environment | None = None,
        max_live_instances: int = 64,
        limits: ResourceLimits | None = None,
        retry: RetryPolicy | None = None,
        engine: Engine | None = None,
        suspend_after: float = 1.0,
        snapshots: SnapshotPolicy | None = None,
    ) -> None:
        if max_live_instances < 1:
            raise BadRequest("max_live_instances must be at least 1")
        self.oplogs = oplogs
        if isinstance(templates, TemplateRegistry):  # shared by several hosts (nodes of a simulated cluster)
            self.templates = templates
            self.engine = templates.engine
        else:
            self.engine = engine or Engine()
            self.templates = TemplateRegistry(templates, self.engine)
        self.calls = LocalCalls(self._knows, self._accept_call)
        """Worker-to-worker calls between this host's workers (when it runs in a RealEnvironment)."""
        self.environment: Environment = environment or RealEnvironment(
            services, router=self.calls.send, scheduler=self._schedule_from_worker
        )
        """Time, randomness, services and routing: real ones made here, or the simulation's."""
        self.max_live_instances = max_live_instances
        self.suspend_after_ms = int(suspend_after * 1000)
        """A durable sleep longer than this suspends the worker and frees its instance."""
        self.table = WorkerTable(lambda worker_id: WorkerSlot(worker_id, self.environment.new_lock()))
        self.instances = WorkerInstances(
            oplogs,
            self.oplog,
            self.templates,
            self.environment,
            self.table,
            limits=limits or ResourceLimits(),
            retry=retry or RetryPolicy(),
            suspend_after_ms=self.suspend_after_ms,
            snapshots=snapshots,
        )
        """Makes, rebuilds, snapshots and updates the workers' instances."""
        self.closed = False
        """Closed or halted: nothing more is accepted or run."""
        self._timers = TimerQueue()
        self._timer_driver: TimerDriver | None = None

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
        """Executor.invoke: accept, run (here when the worker is idle), wait for the result."""
        # Without a deadline an idle worker runs on the caller's thread (no hand-off); with one,
        # on its own, so that the caller's wait can end in time.
        future, inline = self._accept(template, worker, function, args, idempotency_key, inline=timeout is None)
        if inline is not None:
            self._drain(inline, inline=True)
        return self.environment.wait(future, timeout)

    def submit(
        self,
        template: str,
        worker: str,
        function: str,
        args: list[Any] | tuple[Any, ...] = (),
        *,
        idempotency_key: str | None = None,
    ) -> Future[Any]:
        """Executor.submit: the Future of an invocation once it is durably accepted."""
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
    ) -> tuple[Future[Any], WorkerSlot | None]:
        """Record an invocation as pending and queue it.

        With ``inline`` and an idle worker, the caller's own thread will run it (the returned
        slot says so): no thread hand-off, and the pending entry is committed together with
        the invocation's first durable entry, since the caller hears nothing before the result.
        """
        worker_id = WorkerId(template, worker)
        key = idempotency_key or self._new_key()
        args = list(args)
        with self.usable(worker_id) as slot:
            done = slot.results.get(key)
            if done is not None:
                return _finished(worker_id, done), None
            if key in slot.scheduled:
                raise BadRequest(f"invocation {key} on {worker_id} is scheduled for later; it cannot be run now")
            waiting = slot.waiting.get(key)
            if waiting is not None:
                return waiting, None
            run_here = inline and not slot.draining and not slot.queue and not slot.interrupted
            typed = self._record_pending(slot, PendingInvocation(key, function, args), durable=not run_here)
            future: Future[Any] = Future()
            slot.waiting[key] = future
            slot.queue.append(Job(key, function, args, future, typed_args=typed))
            if run_here:
                slot.draining = True
                return future, slot
            self.start_draining(slot)
        return future, None

    @contextmanager
    def usable(self, worker_id: WorkerId) -> Iterator[WorkerSlot]:
        """The worker's slot, loaded and locked. Raises WorkerFailed if the worker cannot run."""
        if self.closed:
            raise GolemError("executor is closed")
        slot = self.table.slot(worker_id)
        with slot.lock:
            self.load(slot)
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            yield slot

    def _new_key(self) -> str:
        # Drawn from the environment, so a simulation seeded alike makes the same keys.
        return str(uuid.UUID(bytes=self.environment.random_bytes(16), version=4))

    def _record_pending(self, slot: WorkerSlot, pending: PendingInvocation, *, durable: bool) -> TypedArgs:
        """Check the arguments, then write the pending entry (after Create for a new worker).
        Returns the arguments as typed values, so that the run need not convert them again.
        The caller holds the slot's lock."""
        assert slot.writer is not None
        template = slot.worker_id.template
        compiled = self.templates.get(template, slot.version or None)
        typed = compiled.function(pending.function).args_from_json(pending.args)  # reject bad arguments first
        now = self.now_ms()
        if slot.writer.last_index == 0:
            slot.version = compiled.version
            slot.writer.add(Create(template, compiled.version, compiled.component_hash, at_ms=now), durable=False)
        slot.writer.add(dataclasses.replace(pending, at_ms=now), durable=durable)
        return TypedArgs(compiled.version, typed)

    def _accept_call(self, call: WorkerCall) -> Future[Any]:
        target = call.target
        return self.submit(target.template, target.name, call.function, call.args, idempotency_key=call.key)

    def _knows(self, worker_id: WorkerId, key: str) -> bool:
        """Whether a worker has accepted invocation ``key`` (pending, running or done). Loads it
        first, so that a call accepted before a restart is known."""
        slot = self.table.slot(worker_id)
        with slot.lock:
            self.load(slot)
        return key in slot.waiting or key in slot.results

    def enter_resumed_calls(self, slots: list[WorkerSlot]) -> None:
        """After a restart, enter the calls resumed invocations wait on and their targets had
        accepted, before any worker runs: a new call is then checked against every wait that
        survived the restart. (A call its target had not accepted is checked when re-sent.)"""
        waits = []
        for slot in slots:
            record = slot.loaded_history.in_flight if slot.loaded_history is not None else None
            waiting_on = record.waiting_on if record is not None else None
            if waiting_on is None or waiting_on.function != "invoke-worker":
                continue
            request = waiting_on.request
            target, key = WorkerId(str(request["template"]), str(request["name"])), str(request["key"])
            target_slot = self.table.find(target)
            if target_slot is not None and key in target_slot.waiting:
                waits.append((slot.worker_id, key, target))
        self.calls.enter_accepted(waits)

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
        """Executor.schedule: record the invocation as pending with its due time and arm a timer."""
        key = idempotency_key or self._new_key()
        args = list(args)
        with self.usable(WorkerId(template, worker)) as slot:
            if key in slot.results or key in slot.waiting or key in slot.scheduled:
                return key
            typed = self._record_pending(slot, PendingInvocation(key, function, args, due_ms=at_ms), durable=True)
            self._arm(slot, Job(key, function, args, Future(), typed_args=typed), at_ms)
        return key

    def _schedule_from_worker(self, target: WorkerId, function: str, args: list[Any], due_ms: int, key: str) -> None:
        self.schedule(target.template, target.name, function, args, at_ms=due_ms, idempotency_key=key)

    def _arm(self, slot: WorkerSlot, job: Job, due_ms: int) -> None:
        """Hold a scheduled job until its time (caller holds the slot's lock)."""
        slot.scheduled[job.key] = job
        job.due_ms = due_ms
        slot.waiting[job.key] = job.future
        self._add_timer(due_ms, slot.worker_id, job.key)

    def _add_timer(self, due_ms: int, worker_id: WorkerId, key: str) -> None:
        self._timers.add(due_ms, worker_id, key)
        if self._timer_driver is None:
            self._timer_driver = self.environment.start_timers(self._timers, self._fire)

    def _fire(self, worker_id: WorkerId, key: str) -> None:
        """A scheduled invocation is due: queue it like any other."""
        slot = self.table.slot(worker_id)
        with slot.lock:
            job = slot.scheduled.pop(key, None)
            if job is None:
                parked = slot.queue[0] if slot.queue else None
                if parked is not None and parked.key == key and parked.parked is Park.SLEEP:
                    self.wake(slot, parked)
                return
            if self.closed:
                return
            if slot.failure is not None:
                slot.waiting.pop(key, None)
                job.future.set_exception(WorkerFailed(slot.failure))
                return
            slot.queue.append(job)
            self.start_draining(slot)

    def _answered(self, slot: WorkerSlot, job: Job) -> None:
        """The call a parked invocation waits on has its answer: run the invocation on."""
        with slot.lock:
            if job.parked is Park.CALL and slot.queue and slot.queue[0] is job and not self.closed:
                self.wake(slot, job)

    def wake(self, slot: WorkerSlot, job: Job) -> None:
        """A parked invocation may go on (caller holds the slot's lock)."""
        job.wake()
        self.start_draining(slot)

    def oplog(self, worker: WorkerId | str, start: int = 1) -> list[tuple[int, OplogEntry]]:
        """A worker's hot oplog as (index, entry) pairs: entries compacted away by a snapshot are
        in ``oplogs.read_archived``. Raises OplogCorruption at a bad entry."""
        worker_id = WorkerId.parse(worker) if isinstance(worker, str) else worker
        start = max(start, self.oplogs.first_index(worker_id))
        return list(enumerate(self.oplogs.read(worker_id, start), start))

    def load(self, slot: WorkerSlot, *, start: bool = True) -> None:
        """First touch of a worker: digest its oplog; queue what a crash left unfinished (and
        run it, unless ``start`` is false: the caller starts it with ``start_resumed``)."""
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
        slot.version = history.version
        slot.results = history.results()
        if history.fatal_error is not None:
            slot.failure = f"worker {slot.worker_id} failed: {history.fatal_error}"
            return
        slot.promises = dict(history.promises)
        slot.snapshot_index = entries[0][0] - 1 if entries else 0  # the hot oplog starts after compaction
        slot.interrupted = history.interrupted
        unfinished: list[Job] = []
        if history.in_flight is not None:
            record = history.in_flight
            job = Job(record.idempotency_key, record.function, record.args, Future(), record, True)
            self._park_if_waiting(slot, job, record.waiting_on)
            unfinished.append(job)
        now = self.now_ms()
        for pending in history.pending:
            job = Job(pending.idempotency_key, pending.function, pending.args, Future())
            if pending.due_ms is not None and pending.due_ms > now:
                self._arm(slot, job, pending.due_ms)
            else:
                job.resumed = True
                unfinished.append(job)
        if history.update_pending is not None:  # requested before a crash: do it after the in-flight one
            update = history.update_pending
            at = 1 if history.in_flight is not None else 0
            unfinished.insert(at, self.update_job(update.target_version, update.mode))
        for job in unfinished:
            slot.waiting[job.key] = job.future
            slot.queue.append(job)
        if unfinished:
            log.info("resuming %s: %d unfinished invocation(s)", slot.worker_id, len(unfinished))
            if start:
                self.start_resumed(slot)

    def start_resumed(self, slot: WorkerSlot) -> None:
        """Run what a worker's load queued, unless its first invocation is parked (caller holds the lock)."""
        if slot.queue and slot.queue[0].parked is None:
            self.start_draining(slot)

    def _park_if_waiting(self, slot: WorkerSlot, job: Job, waiting_on: BeginRemoteWrite | None) -> None:
        """An invocation found stopped in a sleep or promise await stays parked until its wake-up."""
        if waiting_on is None:
            return
        if waiting_on.function == "sleep":
            until = waiting_on.at_ms + int(waiting_on.request["millis"])
            if until - self.now_ms() > self.suspend_after_ms:
                job.parked = Park.SLEEP
                self._add_timer(until, slot.worker_id, job.key)
        elif waiting_on.function == "await-promise":
            if not slot.promises.get(str(waiting_on.request["promise_id"]), (False, None))[0]:
                job.parked = Park.PROMISE
        # A call to another worker is re-sent (same key) when the invocation runs on: not parked here.

    def start_draining(self, slot: WorkerSlot) -> None:
        if slot.draining or self.closed or slot.interrupted:
            return
        slot.draining = True
        self.environment.spawn(f"worker-{slot.worker_id}", lambda: self._drain(slot))

    def _drain(self, slot: WorkerSlot, *, inline: bool = False) -> None:
        """Run the worker's queue in order. Inline (on a caller's thread) it runs one job, then hands off."""
        while True:
            with slot.lock:
                if (
                    not slot.queue
                    or self.closed
                    or slot.failure is not None
                    or slot.interrupted
                    or slot.queue[0].parked
                ):
                    slot.draining = False
                    self.release_queue(slot)
                    return
                job = slot.queue[0]
            try:
                if job.update is not None:
                    self.instances.apply_update(slot, job)
                else:
                    self._run(slot, job)
            except Interrupted:
                if not self.closed:
                    raise
                slot.instance = None  # halted (a simulated crash) or closing: the oplog holds the rest
                return
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
                self.instances.maybe_snapshot(slot, job)
                if inline:
                    slot.draining = False
                    if slot.queue or slot.failure is not None:
                        self.start_draining(slot)
            self._enforce_live_limit(slot)
            if inline:
                return

    def release_queue(self, slot: WorkerSlot) -> None:
        """Answer the callers of jobs that will not run here: the worker failed, or we are closing."""
        if slot.failure is not None:
            error: GolemError = WorkerFailed(slot.failure)
        elif self.closed:
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

    def _run(self, slot: WorkerSlot, job: Job) -> None:
        """Run one invocation: prepare it (its instance, where it starts), perform it, settle
        its outcome (durably, then tell its caller). A run that stops early says why."""
        try:
            outcome = self._perform(slot, job, *self._prepare(slot, job))
        except Exception as stop:
            slot.instance = None  # whatever ended the run early, the instance's state is not trusted
            failed = self._stopped(slot, job, stop)
            if failed is None:
                return
            outcome = failed
        self._settle(slot, job, outcome)

    def _prepare(self, slot: WorkerSlot, job: Job) -> tuple[WorkerInstance, list[tuple[int, OplogEntry]]]:
        """The live instance, and the recorded entries the invocation replays before it goes on."""
        writer = slot.writer
        assert writer is not None
        if job.reload:
            writer.flush()
            history = analyze(self.oplog(slot.worker_id))
            if slot.instance is None:  # the rebuild below reads this history instead of the oplog again
                slot.loaded_history = history
            job.record = history.in_flight
            job.reload = False
            if job.record is None or job.record.idempotency_key != job.key:
                raise GolemError(f"parked invocation {job.key} of {slot.worker_id} is not in flight in the oplog")
        started_ns = self.environment.monotonic_ns()
        instance = self.instances.live(slot)
        recorded: list[tuple[int, OplogEntry]] = []
        if job.record is None:
            writer.add(InvocationStarted(job.key, job.function, job.args, at_ms=self.now_ms()), durable=False)
        else:
            recorded = resume_point(writer, job.record, self.now_ms())
            instance.on_caught_up = lambda entries: self.instances.caught_up(slot, entries, started_ns)
            self.instances.follow_resume(slot, instance, recorded)
        return instance, recorded

    def _perform(
        self, slot: WorkerSlot, job: Job, instance: WorkerInstance, recorded: list[tuple[int, OplogEntry]]
    ) -> Outcome:
        try:
            typed = job.typed_args
            converted = typed.values if typed is not None and typed.version == instance.template.version else None
            outcome = instance.run(job.key, job.function, job.args, recorded, may_go_live=True, typed_args=converted)
        finally:
            instance.on_caught_up = instance.on_replayed = None
        if instance.dead:
            slot.instance = None
        return outcome

    def _stopped(self, slot: WorkerSlot, job: Job, stop: Exception) -> Outcome | None:
        """A run that ended early: the outcome to settle (a failed invocation), or None when the
        invocation is not over (parked, worker failed, or the executor is stopping it)."""
        writer = slot.writer
        assert writer is not None
        if isinstance(stop, (ReplayDivergence, OplogCorruption)):
            self.fail_worker(slot, stop)
            job.future.set_exception(WorkerFailed(str(stop)))
            return None
        if isinstance(stop, Suspended):
            self._park(slot, job, stop)
            return None
        if isinstance(stop, Interrupted):
            writer.discard_buffer()
            if not slot.interrupted:
                # The executor is stopping this run (a shutdown, or a crash in the simulation):
                # nothing more is written; the invocation resumes from the oplog on recovery.
                raise stop
            with slot.lock:  # an operator's interrupt: the invocation waits for resume()
                job.park(Park.INTERRUPTED)
                self.answer_interrupted(slot, job)
            return None
        if isinstance(stop, GolemError):
            return Outcome(False, str(stop), 0)
        # A bug outside the guest must not leave the invocation dangling.
        log.error("unexpected error in %s on %s", job.function, slot.worker_id, exc_info=stop)
        return Outcome(False, f"internal error: {stop!r}", 0)

    def _park(self, slot: WorkerSlot, job: Job, wait: Suspended) -> None:
        """A long sleep, an unfinished promise or an unanswered call: keep the invocation in flight
        without an instance; the timer, the promise's completion or the answer wakes it."""
        assert slot.writer is not None
        slot.writer.flush()
        with slot.lock:
            if wait.promise_id is not None and slot.promises.get(wait.promise_id, (False, None))[0]:
                job.reload = True
                return  # completed while this run was stopping: the drain runs it again
            if slot.interrupted:
                job.park(Park.INTERRUPTED)
            elif wait.until_ms is not None:
                job.park(Park.SLEEP)
            elif wait.call is not None:
                job.park(Park.CALL)
            else:
                job.park(Park.PROMISE)
            if wait.until_ms is not None:
                self._add_timer(wait.until_ms, slot.worker_id, job.key)
        if wait.call is not None:  # outside the lock: a done future calls back at once
            wait.call.add_done_callback(lambda _: self._answered(slot, job))

    def _settle(self, slot: WorkerSlot, job: Job, outcome: Outcome) -> None:
        """Record the invocation's outcome durably, then answer its caller."""
        assert slot.writer is not None
        now = self.now_ms()
        entry: InvocationCompleted | FailedEntry
        if outcome.ok:
            entry = InvocationCompleted(job.key, outcome.result, outcome.fuel, at_ms=now)
        else:
            entry = FailedEntry(job.key, str(outcome.result), outcome.fuel, at_ms=now)
        slot.writer.add(entry, durable=True)
        slot.results[job.key] = entry
        if outcome.ok:
            job.future.set_result(outcome.result)
        else:
            job.future.set_exception(InvocationFailed(str(slot.worker_id), job.function, str(outcome.result)))

    def fail_worker(self, slot: WorkerSlot, error: Exception) -> None:
        """A worker that cannot go on: record why (unless its oplog is corrupt) and keep every byte."""
        log.error("worker %s failed: %s", slot.worker_id, error)
        slot.failure = str(error)
        slot.instance = None
        if slot.writer is not None and not isinstance(error, OplogCorruption):
            slot.writer.discard_buffer()
            try:
                slot.writer.add(ErrorRecorded(str(error), transient=False, at_ms=self.now_ms()), durable=True)
            except GolemError as store_error:
                log.error("could not record the failure of %s: %s", slot.worker_id, store_error)

    def rebuild_instance(self, slot: WorkerSlot) -> int:
        """Drop the worker's instance and rebuild it from its oplog now, as after a crash; returns
        how many completed invocations were replayed. A worker that cannot be rebuilt fails
        (WorkerFailed). The caller holds the slot's lock."""
        slot.instance = None
        try:
            self.instances.live(slot)
        except (ReplayDivergence, OplogCorruption) as error:
            self.fail_worker(slot, error)
            raise WorkerFailed(str(error)) from None
        return slot.replayed

    def queued(self) -> int:
        """Invocations queued or running across all workers (parked and scheduled ones excluded)."""
        return sum(sum(1 for job in slot.queue if job.parked is None) for slot in self.table.slots())

    def _enforce_live_limit(self, current: WorkerSlot) -> None:
        """Suspend least recently used idle workers while more than the limit are live."""
        while (victim := self.table.evict_one(current, self.max_live_instances)) is not None:
            self.suspend(victim)

    def suspend(self, slot: WorkerSlot) -> None:
        with slot.lock:
            if slot.instance is None or slot.draining or slot.writer is None:
                return
            slot.instance = None
            slot.writer.add(Suspend(at_ms=self.now_ms()), durable=True)

    def update_job(self, to_version: int, mode: str) -> Job:
        return Job(f"update:{self._new_key()}", "(update)", [], Future(), update=(to_version, mode))

    def answer_interrupted(self, slot: WorkerSlot, job: Job) -> None:
        """Tell a parked job's caller it was interrupted; a fresh future waits for the resumed run."""
        if not job.future.done():
            job.future.set_exception(
                Interrupted(f"worker {slot.worker_id} was interrupted; the invocation resumes on resume()")
            )
        job.future = Future()
        slot.waiting[job.key] = job.future

    def halt(self) -> None:
        """Stop at once and write nothing more, as a crash would: the environment ends what runs.

        Every instance is let go now (a running one when its thread unwinds): a halted host may
        stay referenced for a while, and its instances hold megabytes the garbage collector
        does not see."""
        self.closed = True
        self.stop_timers()
        self.table.take_live()
        for slot in self.table.slots():
            slot.instance = None

    def stop_timers(self) -> None:
        """No timer fires from now on (on close or halt)."""
        if self._timer_driver is not None:
            self._timer_driver.stop()

    def existing(self, worker: WorkerId | str) -> WorkerSlot:
        """The slot of a worker that has an oplog (BadRequest if it has none)."""
        worker_id = WorkerId.parse(worker) if isinstance(worker, str) else worker
        slot = self.table.slot(worker_id)
        with slot.lock:
            self.load(slot)
            if slot.writer is None or slot.writer.last_index == 0:
                raise BadRequest(f"worker {worker_id} does not exist")
        return slot

    def now_ms(self) -> int:
        return wall_clock_ms(self.environment)


def _finished(worker_id: WorkerId, outcome: InvocationCompleted | FailedEntry) -> Future[Any]:
    future: Future[Any] = Future()
    if isinstance(outcome, InvocationCompleted):
        future.set_result(outcome.result)
    else:
        future.set_exception(InvocationFailed(str(worker_id), "(earlier invocation)", outcome.error))
    return future
