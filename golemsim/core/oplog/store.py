"""The oplog store interface: where oplogs are durable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..ids import WorkerId
from .entries import OplogEntry


class OplogStore(Protocol):
    """Durable, append-only oplogs, one per worker, indexed from 1.

    ``append`` returns only once the entries are durable. It raises OplogConflict when
    ``first_index`` is not the next free index, so two writers can never interleave.
    ``read`` raises OplogCorruption at the first entry that fails its checksum and
    returns nothing beyond it.
    """

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None: ...

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]: ...

    def length(self, worker: WorkerId) -> int: ...

    def workers(self) -> list[tuple[WorkerId, int]]:
        """Every worker with an oplog, with its length, sorted by worker id."""
        ...

    def close(self) -> None: ...
