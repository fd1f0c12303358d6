"""Worker snapshots as the oplog stores keep them (the state after one oplog entry, checksummed),
and the rules both stores apply to snapshots and compaction."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import BadRequest, OplogCompacted, OplogConflict, SnapshotError
from ..ids import WorkerId
from .decoded import DecodedEntries
from .entries import OplogEntry


@dataclass(frozen=True)
class Snapshot:
    """A worker's state after oplog entry ``index``, as its template's ``save-snapshot`` returned it.

    Recovery loads ``data`` with the template version ``template_version`` (whose component has
    the hash ``component_hash``), then replays only the entries after ``index``.
    """

    index: int
    template_version: int
    component_hash: str
    data: bytes = field(repr=False)
    at_ms: int = 0

    def __post_init__(self) -> None:
        if self.index < 1:
            raise ValueError(f"a snapshot covers the state after an oplog entry (index >= 1), got {self.index}")


def snapshot_checksum(worker: str, snapshot: Snapshot) -> int:
    """CRC-32 over the worker, every field and the data: a torn, altered or misplaced snapshot shows."""
    head = f"{worker}#{snapshot.index}#{snapshot.template_version}#{snapshot.component_hash}#{snapshot.at_ms}#"
    return zlib.crc32(snapshot.data, zlib.crc32(head.encode()))


def verified_snapshot(worker: str, snapshot: Snapshot, checksum: int) -> Snapshot:
    """The snapshot, if it matches its stored checksum; else SnapshotError naming worker and index."""
    if snapshot_checksum(worker, snapshot) != checksum:
        raise SnapshotError(
            f"the snapshot of worker {worker} after entry {snapshot.index} is corrupt: checksum mismatch"
        )
    return snapshot


def check_snapshot_index(worker: WorkerId, snapshot: Snapshot, length: int, stored: int | None) -> None:
    """Shared by both stores: a snapshot covers existing entries and never goes backwards."""
    if snapshot.index > length:
        raise OplogConflict(f"snapshot of {worker} after entry {snapshot.index}, but its oplog has {length} entries")
    if stored is not None and snapshot.index < stored:
        raise OplogConflict(
            f"snapshot of {worker} after entry {snapshot.index} is older than the stored one (after entry {stored})"
        )


def check_compaction(worker: WorkerId, through_index: int, length: int, snapshot_index: int | None) -> None:
    """Shared by both stores: only entries that exist and that the stored snapshot covers leave the hot oplog."""
    if through_index > length:
        raise BadRequest(f"cannot compact {worker} through entry {through_index}: its oplog has {length} entries")
    if snapshot_index is None or through_index > snapshot_index:
        covered = f"its snapshot covers entries up to {snapshot_index}" if snapshot_index else "it has no snapshot"
        raise BadRequest(f"cannot compact {worker} through entry {through_index}: {covered}")


def dropped_error(worker: WorkerId, first: int, last: int) -> OplogCompacted:
    """The error for reading entries ``first..last`` that compaction dropped."""
    span, verb = (f"entry {first}", "was") if first == last else (f"entries {first}..{last}", "were")
    return OplogCompacted(
        f"{span} of worker {worker} {verb} dropped by compaction (without archive); its full history cannot be read"
    )


def archived_entries(
    decoded: DecodedEntries, worker: WorkerId, rows: Sequence[tuple[int, bytes, int]], start: int, last: int
) -> list[OplogEntry]:
    """The archived ``(index, payload, checksum)`` rows of ``start..last`` (ordered by index), decoded
    and verified; OplogCompacted naming the first stretch of indexes missing from them (dropped)."""
    first = max(start, 1)
    whole = next((n for n, row in enumerate(rows) if row[0] != first + n), len(rows))  # rows before a gap
    entries = decoded.decode(str(worker), rows[:whole])
    expected = first + whole
    if whole < len(rows):
        raise dropped_error(worker, expected, rows[whole][0] - 1)
    if expected <= last:
        raise dropped_error(worker, expected, last)
    return entries
