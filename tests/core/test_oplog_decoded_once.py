"""The stores decode each stored entry once and share it between reads, and still report
corruption: a changed byte or checksum on disk after a first read is decoded and verified afresh."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from golemsim import MemoryOplogStore, OplogCorruption, SQLiteOplogStore, WorkerId
from golemsim.core.oplog import PendingInvocation, PostgresOplogStore, decode_entry, encode_entry
from golemsim.core.oplog.decoded import DecodedEntries
from golemsim.core.oplog.entries import entry_checksum
from golemsim.core.oplog.snapshot import Snapshot

W = WorkerId("kit", "w1")
OTHER = WorkerId("kit", "w2")


def entries(first: int, last: int) -> list[PendingInvocation]:
    return [PendingInvocation(f"k{i}", "add", [i], at_ms=i) for i in range(first, last + 1)]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        made = PostgresOplogStore(request.getfixturevalue("postgres_url"))
    else:
        made = MemoryOplogStore() if request.param == "memory" else SQLiteOplogStore(tmp_path / "o.db", fsync=False)
    yield made
    made.close()


def test_a_second_read_returns_the_entries_of_the_first(store) -> None:  # type: ignore[no-untyped-def]
    store.append(W, 1, entries(1, 6))
    first = store.read(W)
    again = store.read(W, 2, 4)
    assert first == entries(1, 6)
    assert all(a is b for a, b in zip(again, first[1:4], strict=True))


def test_archived_entries_are_the_ones_read_while_hot(store) -> None:  # type: ignore[no-untyped-def]
    store.append(W, 1, entries(1, 6))
    hot = store.read(W)
    store.put_snapshot(W, Snapshot(4, 1, "c0ffee", b"state"))
    store.compact(W, 4, archive=True)
    archived = store.read_archived(W)
    assert archived == entries(1, 4)
    assert all(a is b for a, b in zip(archived, hot[:4], strict=True))


def test_a_deleted_oplog_written_again_reads_its_new_entries(store) -> None:  # type: ignore[no-untyped-def]
    store.append(W, 1, entries(1, 3))
    assert store.read(W) == entries(1, 3)
    store.delete(W)
    store.append(W, 1, entries(7, 9))
    assert store.read(W) == entries(7, 9)


def test_sqlite_corruption_after_a_first_read_is_still_detected(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db", fsync=False)
    store.append(W, 1, entries(1, 5))
    before = store.read(W)
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute("UPDATE oplog SET payload = x'00' WHERE idx = 3")
    with pytest.raises(OplogCorruption, match="entry 3"):
        store.read(W)
    assert store.read(W, 1, 2) == before[:2]
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute("UPDATE oplog SET checksum = checksum + 1 WHERE idx = 4")
    with pytest.raises(OplogCorruption, match="entry 4: checksum mismatch"):
        store.read(W, 4)
    store.close()


def test_sqlite_corruption_in_the_archive_after_a_first_read_is_still_detected(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db", fsync=False)
    store.append(W, 1, entries(1, 6))
    store.put_snapshot(W, Snapshot(5, 1, "c0ffee", b"state"))
    store.compact(W, 5, archive=True)
    assert store.read_archived(W) == entries(1, 5)
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute("UPDATE oplog_archive SET payload = x'00' WHERE idx = 2")
    with pytest.raises(OplogCorruption, match="entry 2"):
        store.read_archived(W)
    assert store.read_archived(W, 1, 1) == entries(1, 1)
    store.close()


def test_decoded_entries_keep_at_most_their_limit_dropping_the_least_recent_worker() -> None:
    def rows(worker: WorkerId, first: int, last: int) -> list[tuple[int, bytes, int]]:
        made = []
        for index, entry in enumerate(entries(first, last), first):
            payload = encode_entry(entry)
            made.append((index, payload, entry_checksum(str(worker), index, payload)))
        return made

    cache = DecodedEntries(limit=5)
    w1 = cache.decode(str(W), rows(W, 1, 3))
    assert len(cache) == 3
    assert cache.decode(str(W), rows(W, 1, 3))[0] is w1[0]
    cache.decode(str(OTHER), rows(OTHER, 1, 3))  # 6 > 5: W, read least recently, is dropped
    assert len(cache) == 3
    assert cache.decode(str(W), rows(W, 1, 3))[0] is not w1[0]
    assert cache.decode(str(W), rows(W, 1, 3)) == [decode_entry(str(W), i, p, c) for i, p, c in rows(W, 1, 3)]
    too_long = DecodedEntries(limit=2)
    assert too_long.decode(str(W), rows(W, 1, 3)) == entries(1, 3)
    assert len(too_long) == 0  # one oplog longer than the limit is not kept
