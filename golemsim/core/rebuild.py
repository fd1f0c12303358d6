"""Rebuilding a worker's instance: from its newest snapshot when it has one, else by a full replay.

A snapshot that cannot be loaded (corrupt, or the guest refuses it) is not fatal: recovery
falls back to replaying the whole history, archived entries included, and says why. Only a
history that no longer exists (entries dropped by compaction, or older than a snapshot
update) makes that fallback impossible; the worker then fails with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .errors import GolemError, OplogCompacted, SnapshotError, WorkerFailed
from .history import History, analyze
from .ids import WorkerId
from .instance import WorkerInstance
from .oplog.entries import HostCall
from .oplog.store import OplogStore
from .recovery import RecoveryInfo, ReplayProgress, replay_records

log = logging.getLogger("golemsim.recovery")

NewInstance = Callable[[], WorkerInstance]


def full_history(store: OplogStore, worker: WorkerId, hot: History) -> History:
    """The worker's whole history: archived entries, then the hot ones. Raises OplogCompacted
    when entries were dropped."""
    first = store.first_index(worker)
    if first <= 1:
        return hot
    archived = store.read_archived(worker, 1, first - 1)
    hot_entries = list(enumerate(store.read(worker, first), first))  # read starts at first_index
    return analyze(list(enumerate(archived, 1)) + hot_entries)


def rebuild(
    store: OplogStore,
    worker: WorkerId,
    version: int,
    history: History,
    new_instance: NewInstance,
    progress: ReplayProgress | None = None,
) -> tuple[WorkerInstance, RecoveryInfo]:
    """A fresh instance brought to the state after the worker's last completed invocation
    (``progress`` is told how far the replay has come)."""
    fallback: str | None = None
    try:
        snapshot = store.latest_snapshot(worker)
    except SnapshotError as error:
        snapshot, fallback = None, str(error)
    if snapshot is not None and snapshot.template_version != version:
        fallback = f"its snapshot was saved for version {snapshot.template_version}, the worker runs {version}"
        snapshot = None
    if snapshot is not None:
        instance = new_instance()
        try:
            instance.load_snapshot(snapshot.data)
        except GolemError as error:
            fallback = str(error)
        else:
            records = [r for r in history.completed if r.start_index > snapshot.index]
            replayed = replay_records(instance, records, progress)
            entries = sum(len(r.calls) for r in records)
            return instance, RecoveryInfo("snapshot", snapshot.index, replayed, entries)
    if fallback is not None:
        log.warning("worker %s: recovering by a full replay, because %s", worker, fallback)
    if history.snapshot_floor:
        raise WorkerFailed(
            f"worker {worker} cannot be recovered: it was updated by snapshot at entry {history.snapshot_floor}, "
            f"so its state before that exists only in the snapshot, which cannot be used ({fallback})"
        )
    try:
        whole = full_history(store, worker, history)
    except OplogCompacted as error:
        raise WorkerFailed(f"worker {worker} cannot be recovered: {error} (and {fallback})") from None
    instance = new_instance()
    records = whole.completed
    replayed = replay_records(instance, records, progress)
    entries = sum(sum(1 for _, e in r.calls if isinstance(e, HostCall)) for r in records)
    return instance, RecoveryInfo("full", 0, replayed, entries, fallback)
