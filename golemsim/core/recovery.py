"""Rebuilding a worker from its oplog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .errors import ReplayDivergence
from .history import History, InvocationRecord
from .instance import WorkerInstance
from .oplog.entries import InvocationCompleted, Jump, OplogEntry
from .oplog_writer import OplogWriter

ReplayProgress = Callable[[int, int], None]
"""Told (oplog index replayed up to, index the replay ends at) as a rebuild goes: once before
the first invocation is replayed, then after each one."""


@dataclass(frozen=True)
class RecoveryInfo:
    """How a worker's instance was last rebuilt."""

    mode: str
    """"snapshot" (loaded a snapshot, then replayed what follows it), "full" (replayed everything), or
    "resume" (an invocation interrupted by a crash replayed up to where it stopped; told to listeners only)."""
    snapshot_index: int
    """The oplog index the loaded snapshot covers (0 for a full replay)."""
    invocations: int
    """Completed invocations replayed."""
    entries: int
    """Host-call entries answered from the oplog while replaying them."""
    fallback: str | None = None
    """Why a stored snapshot was not used, when there was one."""


def replay_completed(instance: WorkerInstance, history: History) -> int:
    """Re-run every completed invocation on a fresh instance, host calls answered from the oplog.

    Failed invocations are skipped (their effects were rolled back). Each replayed result must
    equal the recorded one; otherwise the code diverged. Returns how many were replayed.
    """
    return replay_records(instance, history.completed)


def replay_records(
    instance: WorkerInstance, completed: list[InvocationRecord], progress: ReplayProgress | None = None
) -> int:
    """Replay these completed invocations in order (see replay_completed)."""
    end = completed[-1].end_index if completed else 0
    if progress is not None and completed:
        progress(completed[0].start_index - 1, end)
    for record in completed:
        outcome = instance.run(record.idempotency_key, record.function, record.args, record.calls, may_go_live=False)
        recorded = record.outcome
        assert isinstance(recorded, InvocationCompleted)
        if not outcome.ok or outcome.result != recorded.result:
            got = f"result {outcome.result!r}" if outcome.ok else f"failure: {outcome.result}"
            raise ReplayDivergence(
                str(instance.worker), record.start_index, f"result {recorded.result!r} of {record.function}", got
            )
        if progress is not None:
            progress(record.end_index, end)
    return len(completed)


def resume_point(writer: OplogWriter, record: InvocationRecord, now_ms: int) -> list[tuple[int, OplogEntry]]:
    """The recorded calls to replay for an interrupted invocation before it goes live.

    An atomic region that was open when the worker died is abandoned: a Jump entry removes
    it from every future replay, and the invocation re-runs it whole from its start.
    """
    if record.open_atomic is None:
        return record.calls
    writer.add(Jump(record.open_atomic, writer.last_index, at_ms=now_ms), durable=True)
    return [(index, entry) for index, entry in record.calls if index < record.open_atomic]
