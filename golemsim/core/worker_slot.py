"""What the executor keeps per worker: its queue of jobs, its oplog writer, its instance."""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from typing import Any

from .environment import Lock
from .history import History, InvocationRecord, WorkerStatus
from .ids import WorkerId
from .instance import WorkerInstance
from .oplog.entries import InvocationCompleted
from .oplog.entries import InvocationFailed as FailedEntry
from .oplog_writer import OplogWriter
from .recovery import RecoveryInfo


@dataclass(frozen=True)
class WorkerInfo:
    """One worker as listed by ``workers()``."""

    worker_id: WorkerId
    template_version: int
    status: WorkerStatus
    oplog_length: int
    error: str | None = None
    update: str | None = None
    """The last template update: pending, succeeded or failed (with the reason)."""


@dataclass(frozen=True)
class TypedArgs:
    """An invocation's arguments as typed values, converted (and so checked) once on acceptance
    against template version ``version``."""

    version: int
    values: list[Any]


class Park(Enum):
    """Why a started invocation waits, without an instance, instead of running."""

    SLEEP = "sleep"
    """In a durable sleep longer than suspend_after: a timer wakes it."""
    PROMISE = "promise"
    """Awaiting a promise not yet completed: its completion wakes it."""
    CALL = "call"
    """Waiting on a call to another worker: the answer wakes it."""
    INTERRUPTED = "interrupted"
    """Stopped by an operator: resume() lets it go on."""


@dataclass
class Job:
    """One invocation (or template update) in a worker's queue, and where it stands.

    Its lifecycle: queued -> running -> done, or running -> parked (``park``) -> woken
    (``wake``: it runs on from its oplog record) -> running. The executor's drain loop runs
    the head of the queue unless it is parked."""

    key: str
    function: str
    args: list[Any]
    future: Future[Any]
    record: InvocationRecord | None = None
    """Set for an invocation that was in flight when the executor died: replay it, then go on."""
    resumed: bool = False
    """Queued on recovery: the invocation was unfinished when the executor stopped."""
    parked: Park | None = None
    """Why this started invocation waits instead of running (None: it may run)."""
    reload: bool = False
    """Re-read the invocation's record from the oplog before running (it was parked)."""
    due_ms: int | None = None
    """For a scheduled invocation: when it is due (wall clock, ms since the epoch)."""
    update: tuple[int, str] | None = None
    """Not an invocation but a template update to (version, mode), run in queue order."""
    typed_args: TypedArgs | None = None
    """The arguments as checked on acceptance (None for one recovered from the oplog)."""

    def park(self, why: Park) -> None:
        """Stop running until woken; the next run re-reads the invocation's record from the oplog."""
        self.parked = why
        self.reload = True

    def wake(self) -> None:
        """May run again, on from its record in the oplog."""
        self.parked = None
        self.reload = True


class WorkerSlot:
    """Everything the executor keeps about one worker."""

    def __init__(self, worker_id: WorkerId, lock: Lock) -> None:
        self.worker_id = worker_id
        self.lock = lock
        self.queue: deque[Job] = deque()
        self.draining = False
        self.loaded = False
        self.writer: OplogWriter | None = None
        self.version = 0
        self.results: dict[str, InvocationCompleted | FailedEntry] = {}
        self.waiting: dict[str, Future[Any]] = {}
        self.scheduled: dict[str, Job] = {}
        """Accepted invocations waiting for their due time, by key."""
        self.promises: dict[str, tuple[bool, Any]] = {}
        """The worker's promises, (completed, value) by id; shared with its instance."""
        self.interrupted = False
        self.instance: WorkerInstance | None = None
        self.failure: str | None = None
        self.replayed = 0
        self.recovery: RecoveryInfo | None = None
        """How the instance was last rebuilt (snapshot or full replay, and how much was replayed)."""
        self.since_snapshot = 0
        """Invocations completed since the last snapshot."""
        self.snapshot_index = 0
        """The index the newest snapshot covers (0: none known)."""
        self.rebuilding = False
        self.loaded_history: History | None = None
        """The history read on first touch, kept for the first rebuild so the oplog is read once."""
