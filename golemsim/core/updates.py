"""Template updates: moving a worker to another version of its template.

``auto`` replays the worker's whole history on the new version: if the new code does what
the old one recorded, it takes over; if it diverges, the update fails and the worker keeps
its old version, still working. ``snapshot`` saves the state on the old version and loads
it into the new one; recovery then starts from that snapshot, since the entries before it
belong to the old code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import GolemError, OplogCompacted
from .history import History
from .ids import WorkerId
from .instance import WorkerInstance
from .oplog.entries import UpdateFailed
from .oplog.store import OplogStore
from .rebuild import full_history
from .recovery import replay_completed

UPDATE_MODES = ("auto", "snapshot")


@dataclass(frozen=True)
class UpdateOutcome:
    """The result of an update: the version the worker runs now, and why it failed if it did."""

    succeeded: bool
    version: int
    mode: str
    reason: str | None = None

    def __str__(self) -> str:
        """One line for people: ``updated to v2 (auto)``, or why it failed and the version kept."""
        if self.succeeded:
            return f"updated to v{self.version} ({self.mode})"
        return f"update ({self.mode}) failed, the worker still runs v{self.version}: {self.reason}"


def migrate(
    mode: str,
    store: OplogStore,
    worker: WorkerId,
    history: History,
    current: Callable[[], WorkerInstance],
    target: Callable[[], WorkerInstance],
) -> tuple[WorkerInstance, bytes | None]:
    """A new-version instance holding the worker's state, and (snapshot mode) the state moved.

    Raises GolemError (ReplayDivergence, SnapshotError, ...) naming why the new version cannot
    take over; nothing is written here.
    """
    if mode == "auto":
        if history.snapshot_floor:
            raise GolemError(
                f"its state before entry {history.snapshot_floor} came from a snapshot update; "
                "update it by snapshot (--mode snapshot)"
            )
        try:
            whole = full_history(store, worker, history)
        except OplogCompacted as error:
            raise GolemError(f"{error}; update it by snapshot (--mode snapshot)") from None
        instance = target()
        replay_completed(instance, whole)
        return instance, None
    data = current().save_snapshot()
    instance = target()
    instance.load_snapshot(data)
    return instance, data


def describe_update(history: History) -> str | None:
    """The worker's last update in a few words, for ``workers()``."""
    if history.update_pending is not None:
        pending = history.update_pending
        return f"update to v{pending.target_version} ({pending.mode}) pending"
    last = history.last_update
    if last is None:
        return None
    if isinstance(last, UpdateFailed):
        return f"update to v{last.target_version} ({last.mode}) failed: {last.reason}"
    return f"updated to v{last.target_version} ({last.mode})"
