"""Reading a worker's oplog back into what happened: the basis of recovery and of status."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .oplog.entries import (
    AtomicBegin,
    AtomicEnd,
    BeginRemoteWrite,
    Checkpoint,
    Create,
    ErrorRecorded,
    HostCall,
    Interrupt,
    InvocationCompleted,
    InvocationFailed,
    InvocationStarted,
    Jump,
    OplogEntry,
    PendingInvocation,
    PromiseCompleted,
    Resume,
    Suspend,
    UpdateFailed,
    UpdatePending,
    UpdateSucceeded,
)

REPLAYABLE = (HostCall, BeginRemoteWrite, AtomicBegin, AtomicEnd)
WAITS = ("sleep", "await-promise", "invoke-worker")
"""Host calls that may suspend an invocation."""


class WorkerStatus(StrEnum):
    """A worker's status, derived from its oplog (and whether an instance is live)."""

    IDLE = "idle"
    RUNNING = "running"
    SUSPENDED = "suspended"
    RETRYING = "retrying"
    WAITING = "waiting"
    """Suspended inside an invocation: a long durable sleep, a promise not yet completed, or a call
    to another worker not yet answered."""
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass
class InvocationRecord:
    """One started invocation and the entries it recorded."""

    idempotency_key: str
    function: str
    args: list[Any]
    start_index: int
    calls: list[tuple[int, OplogEntry]] = field(default_factory=list)
    outcome: InvocationCompleted | InvocationFailed | None = None
    open_atomic: int | None = None
    """Index of an atomic region begun and not ended (only meaningful while in flight)."""
    end_index: int = 0
    """Index of the outcome entry (0 while in flight)."""

    @property
    def waiting_on(self) -> BeginRemoteWrite | None:
        """The open sleep, promise await or worker-to-worker call this invocation stopped in, if it did."""
        if not self.calls:
            return None
        _, last = self.calls[-1]
        if isinstance(last, BeginRemoteWrite) and last.function in WAITS:
            return last
        return None


@dataclass
class History:
    """A worker's oplog, digested."""

    length: int = 0
    create: Create | None = None
    invocations: list[InvocationRecord] = field(default_factory=list)
    pending: list[PendingInvocation] = field(default_factory=list)
    """Accepted, not yet started, in arrival order."""
    last_entry: OplogEntry | None = None
    fatal_error: str | None = None
    interrupted: bool = False
    """An operator interrupted the worker and has not resumed it."""
    promises: dict[str, tuple[bool, Any]] = field(default_factory=dict)
    """Promises the worker created, by id: (completed, value)."""
    carried: dict[str, InvocationCompleted | InvocationFailed] = field(default_factory=dict)
    """Outcomes carried over by a checkpoint from compacted entries."""
    version: int = 0
    """The template version the worker runs now (its creation's, or its last successful update's)."""
    component_hash: str = ""
    update_pending: UpdatePending | None = None
    """An update requested and not yet done (it is carried out on recovery)."""
    last_update: UpdateSucceeded | UpdateFailed | None = None
    snapshot_floor: int = 0
    """Index of the last snapshot update: a full replay cannot start before it."""

    @property
    def in_flight(self) -> InvocationRecord | None:
        """The invocation that started and did not finish (a crash interrupted it)."""
        if self.invocations and self.invocations[-1].outcome is None:
            return self.invocations[-1]
        return None

    @property
    def completed(self) -> list[InvocationRecord]:
        """Invocations whose effects on the worker's state stand (completed, not failed)."""
        return [r for r in self.invocations if isinstance(r.outcome, InvocationCompleted)]

    def results(self) -> dict[str, InvocationCompleted | InvocationFailed]:
        """Outcome by idempotency key, for deduplicating invocations."""
        outcomes = dict(self.carried)
        outcomes.update((r.idempotency_key, r.outcome) for r in self.invocations if r.outcome is not None)
        return outcomes

    def status(self, live: bool) -> WorkerStatus:
        if self.fatal_error is not None:
            return WorkerStatus.FAILED
        if self.interrupted:
            return WorkerStatus.INTERRUPTED
        if self.in_flight is not None and self.in_flight.waiting_on is not None and not live:
            return WorkerStatus.WAITING
        if self.in_flight is not None:
            if isinstance(self.last_entry, ErrorRecorded) and self.last_entry.transient:
                return WorkerStatus.RETRYING
            return WorkerStatus.RUNNING
        if any(p.due_ms is None for p in self.pending):  # scheduled ones wait without running
            return WorkerStatus.RUNNING
        if live:
            return WorkerStatus.IDLE
        return WorkerStatus.SUSPENDED if isinstance(self.last_entry, Suspend) or self.length == 0 else WorkerStatus.IDLE


def skipped_indexes(entries: list[tuple[int, OplogEntry]]) -> set[int]:
    """Indexes that jumps remove from replay."""
    skipped: set[int] = set()
    for _index, entry in entries:
        if isinstance(entry, Jump):
            skipped.update(range(entry.start, entry.end + 1))
    return skipped


def analyze(entries: list[tuple[int, OplogEntry]]) -> History:
    """Digest ``(index, entry)`` pairs, oldest first, into a History."""
    history = History(length=entries[-1][0] if entries else 0)
    skipped = skipped_indexes(entries)
    started: set[str] = set()
    pending: dict[str, PendingInvocation] = {}
    current: InvocationRecord | None = None
    for index, entry in entries:
        history.last_entry = entry
        if index in skipped:
            continue
        if isinstance(entry, Create):
            history.create = entry
            history.version, history.component_hash = entry.version, entry.component_hash
        elif isinstance(entry, Checkpoint):
            if history.create is None:  # the start of a compacted oplog: take over its digest
                _take_checkpoint(history, index, entry, pending)
        elif isinstance(entry, PendingInvocation):
            pending.setdefault(entry.idempotency_key, entry)
        elif isinstance(entry, InvocationStarted):
            current = InvocationRecord(entry.idempotency_key, entry.function, entry.args, index)
            history.invocations.append(current)
            started.add(entry.idempotency_key)
        elif isinstance(entry, (InvocationCompleted, InvocationFailed)):
            if current is not None and current.idempotency_key == entry.idempotency_key:
                current.outcome, current.end_index = entry, index
                current = None
        elif isinstance(entry, REPLAYABLE) and current is not None:
            current.calls.append((index, entry))
            if isinstance(entry, HostCall) and entry.function == "create-promise":
                history.promises.setdefault(str(entry.response), (False, None))
            if isinstance(entry, AtomicBegin):
                current.open_atomic = index
            elif isinstance(entry, AtomicEnd):
                current.open_atomic = None
        elif isinstance(entry, ErrorRecorded) and not entry.transient:
            history.fatal_error = entry.message
        elif isinstance(entry, PromiseCompleted):
            history.promises[entry.promise_id] = (True, entry.value)
        elif isinstance(entry, (Interrupt, Resume)):
            history.interrupted = isinstance(entry, Interrupt)
        elif isinstance(entry, UpdatePending):
            history.update_pending = entry
        elif isinstance(entry, (UpdateSucceeded, UpdateFailed)):
            history.update_pending, history.last_update = None, entry
            if isinstance(entry, UpdateSucceeded):
                history.version, history.component_hash = entry.target_version, entry.component_hash
                if entry.mode == "snapshot":
                    history.snapshot_floor = index
    history.pending = [p for key, p in pending.items() if key not in started]
    return history


def _take_checkpoint(history: History, index: int, entry: Checkpoint, pending: dict[str, PendingInvocation]) -> None:
    history.create = Create(entry.template, entry.version, entry.component_hash, at_ms=entry.at_ms)
    history.version, history.component_hash = entry.version, entry.component_hash
    history.interrupted = entry.interrupted
    history.promises = {key: (bool(done), value) for key, (done, value) in entry.promises.items()}
    for key, outcome in entry.results.items():
        if "ok" in outcome:
            history.carried[key] = InvocationCompleted(key, outcome["ok"], 0, at_ms=entry.at_ms)
        else:
            history.carried[key] = InvocationFailed(key, str(outcome.get("error")), 0, at_ms=entry.at_ms)
    for item in entry.pending:
        pending[item["key"]] = PendingInvocation(
            item["key"], item["function"], item["args"], due_ms=item.get("due_ms"), at_ms=entry.at_ms
        )
