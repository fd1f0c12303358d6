"""Snapshots and compaction in every oplog store: the contract of OplogStore, on real SQLite files and
a real PostgreSQL database.

After ``compact(w, n)`` indexes do not move: ``length`` and the next append are unchanged,
``first_index`` is n + 1, ``read`` returns only hot entries (numbered from
``max(start, first_index)``), and ``read_archived`` returns the archived ones, checksums
verified, or names the entries that were dropped.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from golemsim import BadRequest, MemoryOplogStore, OplogConflict, OplogCorruption, SQLiteOplogStore, WorkerId
from golemsim.core.errors import OplogCompacted, SnapshotError
from golemsim.core.oplog import OplogStore, PendingInvocation, PostgresOplogStore
from golemsim.core.oplog.snapshot import Snapshot

W = WorkerId("kit", "w1")
OTHER = WorkerId("kit", "w2")


def entries(first: int, last: int) -> list[PendingInvocation]:
    return [PendingInvocation(f"k{i}", "add", [i], at_ms=i) for i in range(first, last + 1)]


def snap(index: int, data: bytes = b"state", version: int = 1) -> Snapshot:
    return Snapshot(index, version, "c0ffee", data, at_ms=1000 + index)


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OplogStore]:
    made: OplogStore
    if request.param == "postgresql":
        made = PostgresOplogStore(request.getfixturevalue("postgres_url"))
    else:
        made = MemoryOplogStore() if request.param == "memory" else SQLiteOplogStore(tmp_path / "o.db")
    yield made
    made.close()


def test_a_snapshot_round_trips_and_the_newest_replaces_the_one_before(store: OplogStore) -> None:
    assert store.latest_snapshot(W) is None
    store.append(W, 1, entries(1, 10))
    store.put_snapshot(W, snap(4, b"\x00four\xff"))
    assert store.latest_snapshot(W) == snap(4, b"\x00four\xff")
    store.put_snapshot(W, snap(9, bytes(range(256)) * 1000, version=2))
    assert store.latest_snapshot(W) == snap(9, bytes(range(256)) * 1000, version=2)
    store.put_snapshot(W, snap(9, b"again"))  # the same index: replaced
    assert store.latest_snapshot(W) == snap(9, b"again")
    assert store.latest_snapshot(OTHER) is None


def test_a_snapshot_covers_existing_entries_and_never_goes_back(store: OplogStore) -> None:
    store.append(W, 1, entries(1, 5))
    with pytest.raises(OplogConflict, match="snapshot of kit/w1 after entry 6, but its oplog has 5 entries"):
        store.put_snapshot(W, snap(6))
    with pytest.raises(OplogConflict, match="oplog has 0 entries"):
        store.put_snapshot(OTHER, snap(1))
    store.put_snapshot(W, snap(5))
    with pytest.raises(OplogConflict, match="after entry 3 is older than the stored one \\(after entry 5\\)"):
        store.put_snapshot(W, snap(3))
    assert store.latest_snapshot(W) == snap(5)
    with pytest.raises(ValueError, match="index >= 1"):
        snap(0)


def test_compacting_into_the_archive_keeps_every_index_where_it_was(store: OplogStore) -> None:
    written = entries(1, 10)
    store.append(W, 1, written)
    store.put_snapshot(W, snap(6))
    assert store.first_index(W) == 1
    assert store.compact(W, 6, archive=True) == 6

    assert store.first_index(W) == 7
    assert store.length(W) == 10
    assert store.workers() == [(W, 10)]
    assert store.read(W) == written[6:]  # the first returned entry is index first_index = 7
    assert store.read(W, 1, 6) == []  # a wholly compacted range
    assert store.read(W, 3, 8) == written[6:8]  # starts at max(start, first_index)
    assert store.read(W, 9) == written[8:]
    assert store.read_archived(W) == written[:6]
    assert store.read_archived(W, 2, 4) == written[1:4]
    assert store.read_archived(W, 5, 100) == written[4:6]  # stops before first_index
    assert store.read_archived(W, 7) == []

    with pytest.raises(OplogConflict):
        store.append(W, 7, entries(7, 7))  # a compacted index is still taken
    store.append(W, 11, entries(11, 12))
    assert store.length(W) == 12
    assert store.read(W, 11) == entries(11, 12)
    assert store.first_index(OTHER) == 1


def test_compacting_without_archive_drops_the_entries_and_says_so_when_they_are_asked_for(store: OplogStore) -> None:
    written = entries(1, 8)
    store.append(W, 1, written)
    store.put_snapshot(W, snap(5))
    assert store.compact(W, 5, archive=False) == 5
    assert store.first_index(W) == 6 and store.length(W) == 8
    assert store.read(W) == written[5:]
    with pytest.raises(OplogCompacted, match=r"entries 1\.\.5 of worker kit/w1 were dropped by compaction"):
        store.read_archived(W)
    with pytest.raises(OplogCompacted, match="entry 3 of worker kit/w1 was dropped by compaction"):
        store.read_archived(W, 3, 3)
    assert store.read_archived(W, 6) == []


def test_an_archive_with_a_dropped_stretch_names_exactly_the_missing_entries(store: OplogStore) -> None:
    written = entries(1, 12)
    store.append(W, 1, written)
    store.put_snapshot(W, snap(3))
    store.compact(W, 3, archive=True)
    store.put_snapshot(W, snap(7))
    store.compact(W, 7, archive=False)
    store.put_snapshot(W, snap(10))
    store.compact(W, 10, archive=True)
    assert store.first_index(W) == 11
    assert store.read_archived(W, 1, 3) == written[:3]
    assert store.read_archived(W, 8) == written[7:10]
    with pytest.raises(OplogCompacted, match=r"entries 4\.\.7 of worker kit/w1 were dropped"):
        store.read_archived(W)
    with pytest.raises(OplogCompacted, match=r"entries 5\.\.7 "):
        store.read_archived(W, 5, 9)
    assert store.read(W) == written[10:]


def test_a_worker_compacted_through_its_last_entry_keeps_its_length_and_next_index(store: OplogStore) -> None:
    store.append(W, 1, entries(1, 4))
    store.put_snapshot(W, snap(4))
    assert store.compact(W, 4, archive=False) == 4
    assert store.read(W) == []
    assert store.first_index(W) == 5
    assert store.length(W) == 4
    assert store.workers() == [(W, 4)]
    with pytest.raises(OplogConflict):
        store.append(W, 1, entries(1, 1))
    store.append(W, 5, entries(5, 6))
    assert store.read(W) == entries(5, 6)


def test_only_entries_the_snapshot_covers_may_be_compacted(store: OplogStore) -> None:
    store.append(W, 1, entries(1, 6))
    with pytest.raises(BadRequest, match="cannot compact kit/w1 through entry 2: it has no snapshot"):
        store.compact(W, 2, archive=True)
    store.put_snapshot(W, snap(3))
    with pytest.raises(BadRequest, match="through entry 4: its snapshot covers entries up to 3"):
        store.compact(W, 4, archive=True)
    with pytest.raises(BadRequest, match="through entry 7: its oplog has 6 entries"):
        store.compact(W, 7, archive=True)
    assert store.read(W) == entries(1, 6)  # refused compactions changed nothing
    assert store.compact(W, 2, archive=True) == 2
    assert store.compact(W, 2, archive=True) == 0  # already compacted
    assert store.compact(W, 1, archive=False) == 0
    assert store.compact(W, 3, archive=True) == 1
    assert store.read_archived(W) == entries(1, 3)


def test_delete_removes_hot_and_archived_entries_and_the_snapshot(store: OplogStore) -> None:
    store.append(W, 1, entries(1, 6))
    store.append(OTHER, 1, entries(1, 2))
    store.put_snapshot(W, snap(4))
    store.compact(W, 4, archive=True)
    store.delete(W)
    assert store.length(W) == 0
    assert store.first_index(W) == 1
    assert store.read(W) == []
    assert store.read_archived(W) == []
    assert store.latest_snapshot(W) is None
    assert store.workers() == [(OTHER, 2)]
    store.append(W, 1, entries(1, 1))  # a new oplog from 1
    assert store.read(W) == entries(1, 1)
    assert store.read(OTHER) == entries(1, 2)
    store.delete(WorkerId("kit", "never-was"))  # nothing to delete is fine


def test_a_corrupt_snapshot_is_a_snapshot_error(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db")
    store.append(W, 1, entries(1, 3))
    store.put_snapshot(W, snap(3, b"precious"))
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute("UPDATE snapshots SET data = ? WHERE worker = ?", (b"pr3cious", str(W)))
    with pytest.raises(
        SnapshotError, match="the snapshot of worker kit/w1 after entry 3 is corrupt: checksum mismatch"
    ):
        store.latest_snapshot(W)
    with sqlite3.connect(tmp_path / "o.db") as conn:  # a snapshot moved to another worker
        conn.execute("UPDATE snapshots SET data = ?, worker = ? WHERE worker = ?", (b"precious", str(OTHER), str(W)))
    with pytest.raises(SnapshotError, match="worker kit/w2 after entry 3 is corrupt"):
        store.latest_snapshot(OTHER)
    store.close()


def test_a_corrupt_snapshot_in_memory_is_a_snapshot_error() -> None:
    store = MemoryOplogStore()
    store.append(W, 1, entries(1, 2))
    store.put_snapshot(W, snap(2))
    stored, checksum = store._logs[W].snapshot  # type: ignore[misc]
    store._logs[W].snapshot = (stored, checksum ^ 1)
    with pytest.raises(SnapshotError, match="corrupt: checksum mismatch"):
        store.latest_snapshot(W)


def test_corruption_in_the_archive_is_detected_and_nothing_beyond_it_is_returned(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db")
    store.append(W, 1, entries(1, 8))
    store.put_snapshot(W, snap(6))
    store.compact(W, 6, archive=True)
    with sqlite3.connect(tmp_path / "o.db") as conn:
        (payload,) = conn.execute(
            "SELECT payload FROM oplog_archive WHERE worker = ? AND idx = 4", (str(W),)
        ).fetchone()
        flipped = bytes([payload[0] ^ 1]) + payload[1:]
        conn.execute("UPDATE oplog_archive SET payload = ? WHERE worker = ? AND idx = 4", (flipped, str(W)))
    with pytest.raises(OplogCorruption, match="kit/w1 is corrupt at entry 4: checksum mismatch"):
        store.read_archived(W)
    assert store.read_archived(W, 1, 3) == entries(1, 3)
    assert store.read_archived(W, 5) == entries(5, 6)
    assert store.read(W) == entries(7, 8)
    store.close()


def test_the_archive_keeps_the_checksums_of_the_hot_oplog(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db")
    store.append(W, 1, entries(1, 5))
    with sqlite3.connect(tmp_path / "o.db") as conn:
        before = conn.execute("SELECT idx, kind, payload, checksum FROM oplog WHERE idx <= 3 ORDER BY idx").fetchall()
    store.put_snapshot(W, snap(3))
    store.compact(W, 3, archive=True)
    with sqlite3.connect(tmp_path / "o.db") as conn:
        after = conn.execute("SELECT idx, kind, payload, checksum FROM oplog_archive ORDER BY idx").fetchall()
        hot = conn.execute("SELECT min(idx) FROM oplog").fetchone()[0]
    assert after == before
    assert hot == 4
    store.close()


def test_snapshot_watermark_and_archive_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    store = SQLiteOplogStore(path)
    store.append(W, 1, entries(1, 5))
    store.put_snapshot(W, snap(5, b"kept"))
    store.compact(W, 5, archive=True)  # no hot entry is left
    store.close()

    reopened = SQLiteOplogStore(path)
    assert reopened.length(W) == 5
    assert reopened.first_index(W) == 6
    assert reopened.workers() == [(W, 5)]
    assert reopened.latest_snapshot(W) == snap(5, b"kept")
    assert reopened.read_archived(W) == entries(1, 5)
    with pytest.raises(OplogConflict):  # the writer learns the length from the watermark, not from max(idx)
        reopened.append(W, 1, entries(1, 1))
    reopened.append(W, 6, entries(6, 6))
    assert reopened.read(W) == entries(6, 6)
    reopened.close()


def test_compaction_and_snapshots_run_alongside_group_commits(tmp_path: Path) -> None:
    """Other workers append from many threads while one worker is snapshotted and compacted over and over."""
    store = SQLiteOplogStore(tmp_path / "o.db", fsync=False)
    writers = [WorkerId("kit", f"busy{i}") for i in range(6)]
    errors: list[BaseException] = []

    def append_many(worker: WorkerId) -> None:
        try:
            for i in range(1, 121):
                store.append(worker, i, entries(i, i))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append_many, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for i in range(1, 61):
        store.append(W, i, entries(i, i))
        store.put_snapshot(W, snap(i))
        store.compact(W, i, archive=i % 2 == 0)
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.workers() == sorted([(W, 60), *((w, 120) for w in writers)])
    assert all(store.read(w) == entries(1, 120) for w in writers)
    assert store.read(W) == [] and store.first_index(W) == 61
    store.close()
