"""The checks of a run read each oplog once: one CommittedOplogs, given to every checker, reads a
worker's oplog from the store at most once and gives the same verdicts as the store itself; it
refuses writes, reports an unreadable oplog the same way every time, and what it shares is never
changed by the run or the checks (each decoded entry still equals its stored bytes decoded afresh)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
from support import COUNTERS_WITH_A_CRASH, failed, run

from golemsim import BadRequest, MemoryOplogStore, OplogCorruption, SQLiteOplogStore, WorkerId
from golemsim.core.oplog.entries import Create, OplogEntry, decode_entry
from golemsim.core.oplog.snapshot import Snapshot
from golemsim.core.oplog.store import OplogStore
from golemsim.sim import call_checkers, checkers
from golemsim.sim.checkers import Verdict
from golemsim.sim.committed import CommittedOplogs, committed
from golemsim.sim.runner import RunResult

BANKS = """
name: bank accounts calling each other, a node crashing
app: bank
store: memory
seed: 5
cluster: {nodes: 2, shards: 4, max_live_per_node: 2}
workload: {mode: closed, clients: 4, operations: 60, keys: 5}
faults:
  - {at: 0.5, kind: crash, target: node-1, duration: 1}
"""


class CountingStore:
    """A store that counts the reads of each worker's hot and archived entries."""

    def __init__(self, store: OplogStore) -> None:
        self.store = store
        self.reads: Counter[WorkerId] = Counter()
        self.archive_reads: Counter[WorkerId] = Counter()
        self.listings = 0

    def read(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        self.reads[worker] += 1
        return self.store.read(worker, start, end)

    def read_archived(self, worker: WorkerId, start: int = 1, end: int | None = None) -> list[OplogEntry]:
        self.archive_reads[worker] += 1
        return self.store.read_archived(worker, start, end)

    def workers(self) -> list[tuple[WorkerId, int]]:
        self.listings += 1
        return self.store.workers()

    def append(self, worker: WorkerId, first_index: int, entries: Sequence[OplogEntry]) -> None:
        self.store.append(worker, first_index, entries)

    def length(self, worker: WorkerId) -> int:
        return self.store.length(worker)

    def first_index(self, worker: WorkerId) -> int:
        return self.store.first_index(worker)

    def put_snapshot(self, worker: WorkerId, snapshot: Snapshot) -> None:
        self.store.put_snapshot(worker, snapshot)

    def latest_snapshot(self, worker: WorkerId) -> Snapshot | None:
        return self.store.latest_snapshot(worker)

    def compact(self, worker: WorkerId, through_index: int, *, archive: bool) -> int:
        return self.store.compact(worker, through_index, archive=archive)

    def delete(self, worker: WorkerId) -> None:
        self.store.delete(worker)

    def close(self) -> None:
        self.store.close()


@pytest.fixture(scope="module")
def banks() -> RunResult:
    result = run(BANKS, templates=("bank",))
    assert result.valid, failed(result)
    return result


def every_check(result: RunResult, store: OplogStore) -> list[Verdict]:
    """The runner's checks of a workers run, and the cart invariant's oplog reading, on ``store``."""
    cluster = result.cluster
    now_ns = cluster.now_ns()
    ledger = cluster.services.ledger
    return [
        checkers.no_acknowledged_invocation_lost(result.history, store),
        checkers.effects_once(result.history, store, ledger),
        checkers.serial_replay_matches(store, cluster.templates, result.final_states, {"bank": "state"}, now_ns),
        call_checkers.worker_calls_agree(store),
        call_checkers.nothing_stuck(store, now_ns // 1_000_000),
    ]


def test_every_check_reads_each_oplog_once_and_judges_as_the_store_does(banks: RunResult) -> None:
    store = banks.cluster.storage.store
    counting = CountingStore(store)
    shared = every_check(banks, CommittedOplogs(counting))
    assert shared == every_check(banks, store)
    assert all(verdict.valid for verdict in shared), [v for v in shared if not v.valid]
    assert [v.checked for v in shared][2:4] == [5, 60]  # 5 accounts replayed, 60 calls judged
    assert set(counting.reads) == {worker for worker, _ in store.workers()}
    assert set(counting.reads.values()) == {1}
    assert counting.archive_reads, "no oplog was compacted: the archive went unread"
    assert set(counting.archive_reads.values()) == {1}
    assert counting.listings == 1


def test_the_shared_entries_are_never_changed_by_a_run_or_its_checks(banks: RunResult) -> None:
    crashed = run(COUNTERS_WITH_A_CRASH)
    assert crashed.valid, failed(crashed)
    for result in (banks, crashed):
        store = result.cluster.storage.store
        assert isinstance(store, MemoryOplogStore)
        decoded = 0
        for worker, log in store._logs.items():
            rows = list(enumerate(log.hot, log.compacted + 1)) + sorted(log.archive.items())
            for index, row in rows:
                if row.entry is not None:
                    decoded += 1
                    assert row.entry == decode_entry(str(worker), index, row.payload, row.checksum)
        assert decoded > 100


def test_the_committed_oplogs_refuse_writes() -> None:
    store = MemoryOplogStore()
    worker = WorkerId("bank", "a")
    store.append(worker, 1, [Create("bank", 1, "hash")])
    oplogs = committed(store)
    assert committed(oplogs) is oplogs
    assert oplogs.read(worker) == [Create("bank", 1, "hash")] and oplogs.length(worker) == 1
    with pytest.raises(BadRequest, match="read-only"):
        oplogs.append(worker, 2, [Create("bank", 1, "hash")])
    with pytest.raises(BadRequest, match="read-only"):
        oplogs.delete(worker)
    assert store.length(worker) == 1


def test_an_unreadable_oplog_is_reported_by_both_call_checkers_from_one_read(tmp_path: Path) -> None:
    sqlite = SQLiteOplogStore(tmp_path / "o.db", fsync=False)
    good, bad = WorkerId("bank", "a"), WorkerId("bank", "b")
    sqlite.append(good, 1, [Create("bank", 1, "hash")])
    sqlite.append(bad, 1, [Create("bank", 1, "hash"), Create("bank", 1, "hash")])
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute("UPDATE oplog SET payload = x'00' WHERE worker = 'bank/b' AND idx = 2")
    counting = CountingStore(sqlite)
    oplogs = CommittedOplogs(counting)
    for _ in range(2):
        with pytest.raises(OplogCorruption, match="bank/b is corrupt at entry 2"):
            oplogs.whole(bad)
    unreadable = {"worker": "bank/b", "problem": "oplog unreadable: worker bank/b is corrupt at entry 2: undecodable"}
    for verdict in (call_checkers.worker_calls_agree(oplogs), call_checkers.nothing_stuck(oplogs, 0)):
        assert not verdict.valid and verdict.failures == 1
        [example] = verdict.counterexamples
        assert example["worker"] == unreadable["worker"]
        assert example["problem"].startswith("oplog unreadable:") and "entry 2" in example["problem"]
    assert counting.reads == {good: 1, bad: 1}
    sqlite.close()
