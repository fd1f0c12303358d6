"""The executor: hosts workers, queues their invocations, runs, suspends and recovers them."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from .database_lock import lock_database, release_database
from .engine import Engine
from .environment import Environment
from .errors import (
    BadRequest,
    DatabaseLocked,
    GolemError,
    OplogCorruption,
    PromiseNotFound,
    WorkerFailed,
)
from .history import WorkerStatus, analyze
from .ids import WorkerId
from .oplog.entries import (
    Interrupt,
    OplogEntry,
    PromiseCompleted,
    Resume,
    UpdatePending,
)
from .oplog.memory_store import MemoryOplogStore
from .oplog.sqlite_store import SQLiteOplogStore
from .oplog.store import OplogStore
from .policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from .postgres import connect, is_postgres_url, redacted
from .promises import promise_owner
from .recovery import RecoveryInfo
from .services import LedgerRegistry, ServiceRegistry, services_path
from .templates import (
    MemoryTemplateStore,
    SQLiteTemplateStore,
    TemplateInfo,
    TemplateRegistry,
    TemplateStore,
)
from .updates import UPDATE_MODES, UpdateOutcome, describe_update
from .worker_host import WorkerHost
from .worker_slot import Park, WorkerInfo

log = logging.getLogger("golemsim.executor")


class Executor:
    """Runs durable workers.

    >>> ex = Executor.open("golem.db")
    >>> ex.deploy("templates/counter")
    >>> ex.invoke("counter", "c1", "increment", [5], idempotency_key="k1")
    5

    Workers are created on first invocation. Invocations of one worker run one at a time
    in arrival order; different workers run in parallel. After a crash, opening the same
    database resumes every worker that had unfinished invocations.

    Every public control is here; the machinery (queues, runs, parking, recovery) is the
    composed WorkerHost, ``host``.
    """

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
        """An executor over these stores. ``environment`` (the simulation's) replaces the real
        one made from ``services``; see ``open`` for the usual way to make one."""
        self.host = WorkerHost(
            oplogs,
            templates,
            services=services,
            environment=environment,
            max_live_instances=max_live_instances,
            limits=limits,
            retry=retry,
            engine=engine,
            suspend_after=suspend_after,
            snapshots=snapshots,
        )
        self.oplogs = oplogs
        self.templates = self.host.templates
        self.engine = self.host.engine
        self.environment = self.host.environment
        self._on_close: list[Callable[[], None]] = []
        """What ``open`` made for this executor alone, undone last by ``close`` (locks, connections)."""

    @property
    def max_live_instances(self) -> int:
        """At most this many workers keep a live instance; idle ones beyond it are suspended."""
        return self.host.max_live_instances

    @max_live_instances.setter
    def max_live_instances(self, limit: int) -> None:
        self.host.max_live_instances = limit

    @property
    def on_recovery(self) -> Callable[[WorkerId, RecoveryInfo, float], None] | None:
        """Told of each instance rebuild: (worker, how it went, seconds it took)."""
        return self.host.instances.on_recovery

    @on_recovery.setter
    def on_recovery(self, listener: Callable[[WorkerId, RecoveryInfo, float], None] | None) -> None:
        self.host.instances.on_recovery = listener

    @property
    def on_replay(self) -> Callable[[WorkerId, int, int], None] | None:
        """Told (worker, index replayed up to, index the replay ends at) while a worker replays."""
        return self.host.instances.on_replay

    @on_replay.setter
    def on_replay(self, listener: Callable[[WorkerId, int, int], None] | None) -> None:
        self.host.instances.on_replay = listener

    @classmethod
    def open(
        cls,
        path: str | Path = ":memory:",
        *,
        services: ServiceRegistry | None = None,
        fsync: bool = True,
        resume: bool = True,
        exclusive: bool = True,
        read_only: bool = False,
        **options: Any,
    ) -> Executor:
        """Open an executor on a SQLite database (``":memory:"`` for in-memory stores), or on a
        PostgreSQL database when ``path`` is a ``postgresql://`` (or ``postgres://``) URL.

        ``services`` defaults to a local deduplicating ledger next to the database (for a URL,
        its tables in the same database). With ``resume`` (the default) every worker with
        unfinished invocations is recovered now. ``exclusive`` takes a lock so that two executors
        never share one database: a lock file beside a SQLite file; for a URL a PostgreSQL
        session advisory lock, held on a connection of its own for the executor's life (the
        server drops it when the process dies). Either way DatabaseLocked, naming the database
        (a URL without its password), when another executor holds it; ``close`` releases it.
        ``read_only`` is for looking only (oplogs, workers, templates): the database must exist
        and is neither locked, changed nor migrated, and no ledger is made (BadRequest naming
        the path or URL when it is missing or not a golemsim database). For a URL the session is
        read-only: no table is created and nothing can be written. ``fsync`` is SQLite's alone.
        """
        if is_postgres_url(path):
            return cls._open_postgres(
                str(path), services=services, resume=resume, exclusive=exclusive, read_only=read_only, **options
            )
        if read_only:
            if str(path) == ":memory:":
                raise BadRequest("an in-memory database cannot be opened read-only")
            db = Path(path)
            oplogs = SQLiteOplogStore(db, read_only=True)
            try:
                templates = SQLiteTemplateStore(db, read_only=True)
            except BaseException:
                oplogs.close()
                raise
            return cls(oplogs, templates, services=services or LedgerRegistry(":memory:"), **options)
        if str(path) == ":memory:":
            registry = services or LedgerRegistry(":memory:")
            executor = cls(MemoryOplogStore(), MemoryTemplateStore(), services=registry, **options)
        else:
            db = Path(path)
            lock_fd = lock_database(db) if exclusive else None
            registry = services or LedgerRegistry(services_path(db))
            executor = cls(SQLiteOplogStore(db, fsync=fsync), SQLiteTemplateStore(db), services=registry, **options)
            if lock_fd is not None:
                executor._on_close.append(lambda: release_database(lock_fd))
        if resume:
            executor.resume_all()
        return executor

    EXECUTOR_LOCK = 0x676F6C656D6578  # the PostgreSQL advisory lock of the one executor of a database ("golemex")

    @classmethod
    def _open_postgres(
        cls,
        url: str,
        *,
        services: ServiceRegistry | None,
        resume: bool,
        exclusive: bool,
        read_only: bool,
        **options: Any,
    ) -> Executor:
        """``open`` on a PostgreSQL URL: PostgresOplogStore, PostgresTemplateStore and (unless
        ``services`` are given) the ledger, all in that database."""
        from .oplog.postgres_store import PostgresOplogStore
        from .postgres_templates import PostgresTemplateStore

        closers: list[Callable[[], None]] = []  # what close() undoes after closing the oplogs, newest first
        try:
            if exclusive and not read_only:
                lock = connect(url)
                closers.insert(0, lambda: _unlock_and_close(lock))
                row = lock.execute("SELECT pg_try_advisory_lock(%s)", (cls.EXECUTOR_LOCK,)).fetchone()
                if row is None or not row[0]:
                    raise DatabaseLocked(f"database {redacted(url)} is in use by another executor process")
            oplogs = PostgresOplogStore(url, read_only=read_only)
            try:
                templates = PostgresTemplateStore(url, read_only=read_only)
                closers.insert(0, templates.close)
                if services is None and read_only:
                    services = LedgerRegistry(":memory:")
                elif services is None:
                    services = ledger = LedgerRegistry(services_path(url))
                    closers.insert(0, ledger.close)
                executor = cls(oplogs, templates, services=services, **options)
            except BaseException:
                oplogs.close()
                raise
        except BaseException:
            for close in closers:
                close()
            raise
        executor._on_close.extend(closers)
        if resume and not read_only:
            executor.resume_all()
        return executor

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- invocations ---------------------------------------------------------------------------

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
        Raises InvocationFailed (trap, limits), BadRequest, TemplateNotFound or WorkerFailed;
        with a ``timeout``, TimeoutError when the answer is not back by then (the invocation
        stays accepted and runs on: ask again with the same key).
        """
        return self.host.invoke(template, worker, function, args, idempotency_key=idempotency_key, timeout=timeout)

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
        return self.host.submit(template, worker, function, args, idempotency_key=idempotency_key)

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
        return self.host.schedule(template, worker, function, args, at_ms=at_ms, idempotency_key=idempotency_key)

    def oplog(self, worker: WorkerId | str, start: int = 1) -> list[tuple[int, OplogEntry]]:
        """A worker's hot oplog as (index, entry) pairs: entries compacted away by a snapshot are
        in ``oplogs.read_archived``. Raises OplogCorruption at a bad entry."""
        return self.host.oplog(worker, start)

    def queued(self) -> int:
        """Invocations queued or running across all workers (parked and scheduled ones excluded)."""
        return self.host.queued()

    # -- templates and workers -----------------------------------------------------------------

    def deploy(
        self,
        source: str | Path | bytes,
        *,
        name: str | None = None,
        version: int | None = None,
        replace: bool = False,
        retry: RetryPolicy | None = None,
        snapshot: SnapshotPolicy | None = None,
    ) -> TemplateInfo:
        """Deploy a template from a template folder (built first), a ``.wasm`` file or bytes.

        ``retry`` (or a folder's ``[retry]`` table in golemsim.toml) is the template's own
        retry policy for transient service failures; without one the executor's applies.
        ``snapshot`` (or ``[snapshot]``) is its snapshot policy, likewise.
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
                snapshot = snapshot or built.snapshot
            elif path.is_file():
                data, name = path.read_bytes(), name or path.stem
            else:
                raise BadRequest(f"no template folder or .wasm file at {path}")
        WorkerId(name, "x")  # validates the template name
        return self.templates.deploy(name, data, version=version, replace=replace, retry=retry, snapshot=snapshot)

    def scheduled(self) -> list[tuple[WorkerId, str]]:
        """Scheduled invocations not yet due, as (worker, key)."""
        return [(slot.worker_id, key) for slot in self.host.table.slots() for key in list(slot.scheduled)]

    def workers(self) -> list[WorkerInfo]:
        """Every worker with template version, status and oplog length."""
        infos = []
        for worker_id, length in self.oplogs.workers():
            slot = self.host.table.find(worker_id)
            live = slot is not None and slot.instance is not None
            try:
                history = analyze(self.oplog(worker_id))
            except OplogCorruption as error:
                infos.append(WorkerInfo(worker_id, 0, WorkerStatus.FAILED, length, str(error)))
                continue
            status, fatal = history.status(live), history.fatal_error
            infos.append(WorkerInfo(worker_id, history.version, status, length, fatal, describe_update(history)))
        return infos

    def list_templates(self) -> list[TemplateInfo]:
        return self.templates.list()

    def resume_all(self) -> int:
        """Recover every worker that has unfinished invocations; returns how many."""
        host = self.host
        slots = []
        for worker_id, _length in self.oplogs.workers():
            slot = host.table.slot(worker_id)
            with slot.lock:
                host.load(slot, start=False)
                if slot.queue:
                    slots.append(slot)
        host.enter_resumed_calls(slots)  # every surviving wait is known before anything runs
        for slot in slots:
            with slot.lock:
                host.start_resumed(slot)
        return len(slots)

    def update_worker(
        self, worker: WorkerId | str, to_version: int, *, mode: str = "auto", timeout: float | None = None
    ) -> UpdateOutcome:
        """Move a worker to version ``to_version`` of its template, in queue order (after the
        invocations before it). ``auto`` replays its history on the new version; ``snapshot``
        moves its saved state. A failed update leaves the worker on its version, working.
        Pending, successful and failed updates are oplog entries."""
        if mode not in UPDATE_MODES:
            raise BadRequest(f"unknown update mode {mode!r}; use one of {UPDATE_MODES}")
        host = self.host
        slot = host.existing(worker)
        with slot.lock:
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            target = self.templates.get(slot.worker_id.template, to_version)  # TemplateNotFound
            if target.version == slot.version:
                raise BadRequest(f"worker {slot.worker_id} already runs version {to_version}")
            assert slot.writer is not None
            slot.writer.add(UpdatePending(to_version, mode, at_ms=host.now_ms()), durable=True)
            job = host.update_job(to_version, mode)
            slot.waiting[job.key] = job.future
            slot.queue.append(job)
            if not slot.interrupted:
                host.start_draining(slot)
        outcome: UpdateOutcome = self.environment.wait(job.future, timeout)
        return outcome

    def delete_worker(self, worker: WorkerId | str) -> None:
        """Delete a worker with its oplog, archive and snapshot. Its waiting callers hear so.
        Refused while it runs an invocation (interrupt it first)."""
        slot = self.host.existing(worker)
        with slot.lock:
            if slot.draining:
                raise GolemError(f"worker {slot.worker_id} is running an invocation; interrupt it first")
            gone = GolemError(f"worker {slot.worker_id} was deleted")
            for future in slot.waiting.values():
                if not future.done():
                    future.set_exception(gone)
            slot.queue.clear()
            slot.scheduled.clear()
            slot.waiting.clear()
            slot.instance = None
            slot.failure = str(gone)  # anyone still holding this slot is refused
            self.oplogs.delete(slot.worker_id)
        self.host.table.forget(slot.worker_id)

    def recovery_info(self, worker: WorkerId | str) -> RecoveryInfo | None:
        """How the worker's instance was last rebuilt (None if it was not, in this executor)."""
        return self.host.existing(worker).recovery

    def restart_worker(self, worker: WorkerId | str) -> int:
        """Drop a worker's instance and rebuild it from its oplog now, as after a crash.

        Returns how many completed invocations were replayed. Raises GolemError if the worker
        is running an invocation, WorkerFailed if it cannot be recovered.
        """
        worker_id = WorkerId.parse(worker) if isinstance(worker, str) else worker
        slot = self.host.table.slot(worker_id)
        with slot.lock:
            self.host.load(slot)
            if slot.failure is not None:
                raise WorkerFailed(slot.failure)
            if slot.draining:
                raise GolemError(f"worker {worker_id} is running an invocation; restart it when idle")
            if slot.writer is None or slot.writer.last_index == 0:
                raise BadRequest(f"worker {worker_id} does not exist")
            return self.host.rebuild_instance(slot)

    def recovering(self, template: str, worker: str) -> bool:
        """True while the worker's instance is rebuilt by replay or invocations resumed after a crash run.

        Read without taking the worker's lock, so a caller (the gateway) can answer "try again"
        instead of queueing behind a recovery.
        """
        slot = self.host.table.find(WorkerId(template, worker))
        if slot is None:
            return False
        if slot.rebuilding:
            return True
        try:
            head = slot.queue[0]  # resumed jobs are queued first, before any new one
        except IndexError:
            return False
        return head.resumed and head.parked is None

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
        with self.host.usable(worker_id) as slot:
            known = slot.promises.get(promise_id)
            if known is None:
                raise PromiseNotFound(f"worker {worker_id} has no promise {promise_id!r}")
            if known[0]:
                return False
            assert slot.writer is not None
            slot.writer.add(PromiseCompleted(promise_id, value, at_ms=self.host.now_ms()), durable=True)
            slot.promises[promise_id] = (True, value)
            head = slot.queue[0] if slot.queue else None
            if head is not None and head.parked is Park.PROMISE:
                self.host.wake(slot, head)
        return True

    def promises(self, worker: WorkerId | str) -> dict[str, tuple[bool, Any]]:
        """A worker's promises by id: (completed, value)."""
        slot = self.host.existing(worker)
        with slot.lock:
            return dict(slot.promises)

    def interrupt(self, worker: WorkerId | str) -> None:
        """Stop a worker: a running invocation stops at its next host call and, with any queued
        ones, waits (durably) until ``resume``. Its caller gets Interrupted now."""
        host = self.host
        slot = host.existing(worker)
        with slot.lock:
            if slot.interrupted:
                return
            assert slot.writer is not None
            slot.interrupted = True
            slot.writer.add(Interrupt(at_ms=host.now_ms()), durable=True)
            head = slot.queue[0] if slot.queue else None
            if head is not None and head.parked is not None:
                head.parked = Park.INTERRUPTED
                host.answer_interrupted(slot, head)
            if slot.instance is not None and slot.draining:
                slot.instance.interrupt_requested = True

    def resume(self, worker: WorkerId | str) -> bool:
        """Let an interrupted worker go on where it stopped. Returns False if it was not interrupted."""
        host = self.host
        slot = host.existing(worker)
        with slot.lock:
            if not slot.interrupted:
                return False
            assert slot.writer is not None
            slot.interrupted = False
            slot.writer.add(Resume(at_ms=host.now_ms()), durable=True)
            head = slot.queue[0] if slot.queue else None
            if head is not None and head.parked is Park.INTERRUPTED:
                head.parked = None  # its record was re-read when it was parked
            if slot.queue:
                host.start_draining(slot)
        return True

    def live_instances(self) -> int:
        """How many workers hold a live instance now."""
        return self.host.table.live_count()

    def close(self, timeout: float = 30.0) -> None:
        """Finish running invocations (up to ``timeout``), suspend live workers, release the database."""
        host = self.host
        if host.closed:
            return
        self.environment.join(timeout)
        host.closed = True
        host.stop_timers()
        for slot in host.table.take_live():
            host.suspend(slot)
        for slot in host.table.slots():
            if slot.writer is not None and slot.failure is None:
                slot.writer.flush()
            with slot.lock:
                host.release_queue(slot)  # parked invocations: their callers hear why
        self.oplogs.close()
        self.engine.stop()
        while self._on_close:
            self._on_close.pop(0)()

    def halt(self) -> None:
        """Stop at once and write nothing more, as a crash would (the simulation's node crash)."""
        self.host.halt()


def _unlock_and_close(lock: Any) -> None:
    """Release the executor's advisory lock, then its session. Unlocking first matters: the
    server ends a closed session's locks only once it notices, so a next open could be refused."""
    try:
        lock.execute("SELECT pg_advisory_unlock_all()")
    except Exception:  # a broken session: closing it (or its end) releases the lock anyway
        pass
    finally:
        lock.close()
