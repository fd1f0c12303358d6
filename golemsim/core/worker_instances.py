"""Workers' instances: made fresh, rebuilt from the oplog (snapshot, then replay), snapshotted
after an invocation when the policy says so, and moved to another template version."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .environment import Environment, wall_clock_ms
from .errors import GolemError
from .history import History, analyze
from .ids import WorkerId
from .instance import WorkerInstance, fresh_instance
from .oplog.entries import InvocationCompleted, OplogEntry, UpdateFailed, UpdateSucceeded
from .oplog.snapshot import Snapshot
from .oplog.store import OplogStore
from .policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from .rebuild import rebuild
from .recovery import RecoveryInfo
from .snapshots import take_snapshot
from .templates import CompiledTemplate, TemplateRegistry
from .updates import UpdateOutcome, migrate
from .worker_slot import Job, WorkerSlot
from .worker_table import WorkerTable

log = logging.getLogger("golemsim.executor")

ReadOplog = Callable[[WorkerId], list[tuple[int, OplogEntry]]]
"""A worker's hot oplog as (index, entry) pairs."""


class WorkerInstances:
    """Makes and keeps the instances of one executor's workers."""

    def __init__(
        self,
        oplogs: OplogStore,
        read_oplog: ReadOplog,
        templates: TemplateRegistry,
        environment: Environment,
        table: WorkerTable,
        *,
        limits: ResourceLimits,
        retry: RetryPolicy,
        suspend_after_ms: int,
        snapshots: SnapshotPolicy | None,
    ) -> None:
        self.oplogs = oplogs
        self.read_oplog = read_oplog
        self.templates = templates
        self.environment = environment
        self.table = table
        self.limits = limits
        self.retry = retry
        self.suspend_after_ms = suspend_after_ms
        self.snapshots = snapshots
        """When to snapshot workers whose template can (None: never)."""
        self.on_recovery: Callable[[WorkerId, RecoveryInfo, float], None] | None = None
        """Told of each instance rebuild: (worker, how it went, seconds it took on the monotonic clock)."""
        self.on_replay: Callable[[WorkerId, int, int], None] | None = None
        """Told (worker, oplog index replayed up to, index the replay ends at) while an instance is rebuilt
        and while a resumed invocation replays its recorded calls."""

    def _now_ms(self) -> int:
        return wall_clock_ms(self.environment)

    def live(self, slot: WorkerSlot) -> WorkerInstance:
        """The worker's live instance; rebuilt by replaying its completed invocations if needed."""
        if slot.instance is not None and not slot.instance.dead:
            self.table.touch(slot)
            return slot.instance
        assert slot.writer is not None
        # Completed invocations only come from a live instance, so the history read on first
        # touch still holds every one of them until the first rebuild.
        history, slot.loaded_history = slot.loaded_history, None
        if history is None:
            slot.writer.flush()
            history = analyze(self.read_oplog(slot.worker_id))
        slot.rebuilding = True
        try:
            instance = self._replay(slot, history)
        finally:
            slot.rebuilding = False
        slot.instance = instance
        self.table.touch(slot)
        return instance

    def _replay(self, slot: WorkerSlot, history: History) -> WorkerInstance:
        started_ns = self.environment.monotonic_ns()
        listener = self.on_replay
        progress = None if listener is None else (lambda index, end: listener(slot.worker_id, index, end))
        instance, slot.recovery = rebuild(
            self.oplogs, slot.worker_id, slot.version, history, lambda: self.new(slot), progress
        )
        slot.replayed = slot.recovery.invocations
        slot.since_snapshot = slot.recovery.invocations  # replayed, so not yet in any snapshot
        if self.on_recovery is not None:
            self.on_recovery(slot.worker_id, slot.recovery, (self.environment.monotonic_ns() - started_ns) / 1e9)
        return instance

    def follow_resume(self, slot: WorkerSlot, instance: WorkerInstance, recorded: list[tuple[int, OplogEntry]]) -> None:
        """Tell the replay listener how far a resumed invocation's replay of its recorded calls has come."""
        listener = self.on_replay
        if listener is None or not recorded:
            return
        end = recorded[-1][0]
        listener(slot.worker_id, recorded[0][0] - 1, end)
        instance.on_replayed = lambda index: listener(slot.worker_id, index, end)

    def caught_up(self, slot: WorkerSlot, entries: int, started_ns: int) -> None:
        """A resumed invocation is back where it stopped: tell the listener how long that took."""
        if self.on_recovery is not None:
            seconds = (self.environment.monotonic_ns() - started_ns) / 1e9
            self.on_recovery(slot.worker_id, RecoveryInfo("resume", 0, 0, entries), seconds)

    def new(self, slot: WorkerSlot, compiled: CompiledTemplate | None = None) -> WorkerInstance:
        """A fresh, empty instance of the worker's template version (or of ``compiled``)."""
        assert slot.writer is not None
        return fresh_instance(
            slot.worker_id,
            self.templates,
            self.environment,
            slot.writer,
            limits=self.limits,
            retry=self.retry,
            version=slot.version,
            compiled=compiled,
            promises=slot.promises,
            suspend_after_ms=self.suspend_after_ms,
        )

    def maybe_snapshot(self, slot: WorkerSlot, job: Job) -> None:
        """After a completed invocation: snapshot the worker if its policy says so and it is idle.
        The caller holds the slot's lock."""
        instance = slot.instance
        policy = (instance.template.snapshot if instance is not None else None) or self.snapshots
        if policy is None or job.update is not None or not isinstance(slot.results.get(job.key), InvocationCompleted):
            return
        slot.since_snapshot += 1
        writer = slot.writer
        if instance is None or instance.dead or writer is None or slot.interrupted or slot.failure is not None:
            return
        head = slot.queue[0] if slot.queue else None
        if head is not None and (head.record is not None or head.reload or head.update is not None):
            return  # another invocation is under way
        if not instance.supports_snapshots or not policy.due(
            slot.since_snapshot, writer.last_index - slot.snapshot_index
        ):
            return
        index = take_snapshot(slot, instance, self.oplogs, policy, self._now_ms())
        if index is not None:
            slot.snapshot_index = index

    def apply_update(self, slot: WorkerSlot, job: Job) -> None:
        assert job.update is not None and slot.writer is not None
        to_version, mode = job.update
        writer = slot.writer
        try:
            target = self.templates.get(slot.worker_id.template, to_version)
            writer.flush()
            history = analyze(self.read_oplog(slot.worker_id))
            instance, data = migrate(
                mode,
                self.oplogs,
                slot.worker_id,
                history,
                lambda: self.live(slot),
                lambda: self.new(slot, target),
            )
        except GolemError as error:
            reason = str(error)
            log.warning("update of %s to version %d (%s) failed: %s", slot.worker_id, to_version, mode, reason)
            writer.add(UpdateFailed(to_version, mode, reason, at_ms=self._now_ms()), durable=True)
            job.future.set_result(UpdateOutcome(False, slot.version, mode, reason))
            return
        now = self._now_ms()
        with slot.lock:
            index = writer.add(UpdateSucceeded(to_version, mode, target.component_hash, at_ms=now), durable=True)
            if data is not None:  # recovery starts here from now on
                self.oplogs.put_snapshot(slot.worker_id, Snapshot(index, to_version, target.component_hash, data, now))
                slot.snapshot_index = index
            slot.version = to_version
            slot.instance = instance
            slot.since_snapshot = 0
        self.table.touch(slot)
        job.future.set_result(UpdateOutcome(True, to_version, mode))
