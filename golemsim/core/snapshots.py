"""Taking a worker's snapshot: a checkpoint entry, the guest's saved state, then compaction.

A snapshot is taken only between invocations. The checkpoint entry carries what recovery
needs from the entries before it (see oplog.entries.Checkpoint), so with the snapshot those
entries can leave the hot oplog and recovery reads a bounded suffix.
"""

from __future__ import annotations

import logging
from typing import Any

from .errors import GolemError
from .instance import WorkerInstance
from .oplog.entries import Checkpoint, InvocationCompleted
from .oplog.snapshot import Snapshot
from .oplog.store import OplogStore
from .policy import SnapshotPolicy
from .worker_slot import WorkerSlot

log = logging.getLogger("golemsim.snapshots")

CARRIED_RESULTS = 1000
"""How many of the newest outcomes a checkpoint keeps for deduplicating repeated keys."""


def checkpoint(slot: WorkerSlot, component_hash: str, now_ms: int) -> Checkpoint:
    """The digest of the worker as it is now (the caller holds the slot's lock; nothing runs)."""
    outcomes = list(slot.results.items())[-CARRIED_RESULTS:]
    results = {
        key: {"ok": entry.result} if isinstance(entry, InvocationCompleted) else {"error": entry.error}
        for key, entry in outcomes
    }
    pending: list[dict[str, Any]] = [
        {"key": job.key, "function": job.function, "args": job.args, "due_ms": None}
        for job in slot.queue
        if job.update is None
    ]
    scheduled = sorted(slot.scheduled.values(), key=lambda job: (job.due_ms or 0, job.key))
    pending += [{"key": job.key, "function": job.function, "args": job.args, "due_ms": job.due_ms} for job in scheduled]
    return Checkpoint(
        slot.worker_id.template,
        slot.version,
        component_hash,
        results,
        pending,
        {promise: [done, value] for promise, (done, value) in slot.promises.items()},
        slot.interrupted,
        at_ms=now_ms,
    )


def take_snapshot(
    slot: WorkerSlot, instance: WorkerInstance, store: OplogStore, policy: SnapshotPolicy, now_ms: int
) -> int | None:
    """Snapshot an idle worker and compact what it covers; returns the checkpoint's index.

    A guest whose save-snapshot fails is logged and left as it was (recovery replays more).
    """
    assert slot.writer is not None
    try:
        data = instance.save_snapshot()
    except GolemError as error:
        log.warning("worker %s: no snapshot taken: %s", slot.worker_id, error)
        return None
    component_hash = instance.template.component_hash
    index = slot.writer.add(checkpoint(slot, component_hash, now_ms), durable=True)
    store.put_snapshot(slot.worker_id, Snapshot(index, slot.version, component_hash, data, at_ms=now_ms))
    if policy.compaction != "keep":
        store.compact(slot.worker_id, index - 1, archive=policy.compaction == "archive")
    slot.since_snapshot = 0
    return index
