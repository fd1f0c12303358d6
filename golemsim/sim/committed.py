"""The committed oplogs at the end of a run, as the checkers read them: each worker's whole
oplog read from the store and decoded once, and digested into its History once, however many
checkers (and invariants) ask for it."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.errors import BadRequest, GolemError, OplogCompacted
from ..core.history import History, analyze
from ..core.ids import WorkerId
from ..core.oplog.entries import OplogEntry
from ..core.oplog.snapshot import Snapshot
from ..core.oplog.store import OplogStore

Whole = tuple[list[tuple[int, OplogEntry]], bool]
"""A worker's ``(index, entry)`` pairs, archived then hot, and whether that is all of them."""


def read_whole(store: OplogStore, worker: WorkerId) -> Whole:
    """The worker's ``(index, entry)`` pairs, archived then hot, and whether that is all of them
    (False when compaction dropped older entries: the hot ones alone, led by a checkpoint)."""
    first = store.first_index(worker)
    hot = list(enumerate(store.read(worker, first), first))
    if first <= 1:
        return hot, True
    try:
        archived = store.read_archived(worker, 1, first - 1)
    except OplogCompacted:
        return hot, False
    return list(enumerate(archived, 1)) + hot, True


class CommittedOplogs:
    """A store's oplogs once nothing writes them any more (a run that has ended), read for checking.

    ``whole`` reads a worker's archived and hot entries on first use and keeps them; ``history``
    digests them once; ``workers`` and ``length`` answer from one listing. What they return is
    shared by every caller and must not be changed (entries are frozen dataclasses; nothing that
    checks an oplog changes the lists, the values in the entries or the History records).

    It is an OplogStore for reading, so an invariant given the run's oplogs reads them as it reads
    any store: ``read``, ``read_archived``, ``first_index`` and ``latest_snapshot`` go to the
    store (which decodes an entry once); appending, snapshots, compaction and deletion are refused.
    """

    def __init__(self, store: OplogStore) -> None:
        self.store = store
        self._listing: list[tuple[WorkerId, int]] | None = None
        self._lengths: dict[WorkerId, int] = {}
        self._whole: dict[WorkerId, Whole | GolemError] = {}
        self._histories: dict[WorkerId, History] = {}

    # -- read once ------------------------------------------------------------------------

    def workers(self) -> list[tuple[WorkerId, int]]:
        """Every worker with an oplog, with its length, sorted by worker id (listed once)."""
        if self._listing is None:
            self._listing = self.store.workers()
            self._lengths = dict(self._listing)
        return list(self._listing)

    def length(self, worker: WorkerId) -> int:
        self.workers()
        return self._lengths.get(worker, 0)

    def whole(self, worker: WorkerId) -> Whole:
        """The worker's archived then hot ``(index, entry)`` pairs and whether that is all of them
        (see read_whole), read once. A worker whose oplog cannot be read raises the same GolemError
        every time."""
        known = self._whole.get(worker)
        if known is None:
            try:
                known = read_whole(self.store, worker)
            except GolemError as error:
                known = error
            self._whole[worker] = known
        if isinstance(known, GolemError):
            raise known.with_traceback(None)
        return known

    def history(self, worker: WorkerId) -> History:
        """The worker's whole oplog digested (``analyze``), once."""
        history = self._histories.get(worker)
        if history is None:
            history = self._histories[worker] = analyze(self.whole(worker)[0])
        return history

    # -- the rest of OplogStore: reads go to the store, writes are refused ----------------------

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        return self.store.read(worker, start, end)

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        return self.store.read_archived(worker, start, end)

    def first_index(self, worker: WorkerId) -> int:
        return self.store.first_index(worker)

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        return self.store.latest_snapshot(worker)

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        raise self._read_only(f"append to {worker}")

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        raise self._read_only(f"store a snapshot of {worker}")

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        raise self._read_only(f"compact {worker}")

    def delete(self, worker: WorkerId) -> None:
        raise self._read_only(f"delete {worker}")

    def close(self) -> None:
        """Nothing to release: the store is its owner's to close."""

    @staticmethod
    def _read_only(what: str) -> BadRequest:
        return BadRequest(f"cannot {what}: the committed oplogs of a finished run are read-only")


def committed(store: OplogStore) -> CommittedOplogs:
    """``store`` read for checking: itself if it already is, else a fresh view of it."""
    return store if isinstance(store, CommittedOplogs) else CommittedOplogs(store)
