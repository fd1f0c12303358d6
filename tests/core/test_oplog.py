"""Oplog encoding and the stores: checksums, versioning, ordering, group commit."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from golemsim import MemoryOplogStore, OplogConflict, OplogCorruption, SQLiteOplogStore, WorkerId
from golemsim.core.oplog import (
    HostCall,
    InvocationCompleted,
    PendingInvocation,
    PostgresOplogStore,
    decode_entry,
    encode_entry,
)
from golemsim.core.oplog.entries import entry_checksum

W = WorkerId("counter", "c1")


def test_every_entry_kind_round_trips() -> None:
    entry = HostCall("call-service", {"a": [1, 2]}, {"ok": "x"}, at_ms=7)
    payload = encode_entry(entry)
    assert decode_entry("counter/c1", 3, payload, entry_checksum("counter/c1", 3, payload)) == entry


def test_checksum_catches_a_flipped_bit_and_a_moved_entry() -> None:
    payload = encode_entry(InvocationCompleted("k", 5, 100))
    checksum = entry_checksum("counter/c1", 3, payload)
    flipped = bytes([payload[0] ^ 1]) + payload[1:]
    with pytest.raises(OplogCorruption, match="counter/c1 is corrupt at entry 3: checksum mismatch"):
        decode_entry("counter/c1", 3, flipped, checksum)
    with pytest.raises(OplogCorruption, match="entry 4"):
        decode_entry("counter/c1", 4, payload, checksum)


def test_unknown_version_is_reported() -> None:
    payload = encode_entry(InvocationCompleted("k", 5, 100)).replace(b'"v":1', b'"v":9')
    with pytest.raises(OplogCorruption, match="unknown encoding version 9"):
        decode_entry("w/x", 1, payload, entry_checksum("w/x", 1, payload))


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "postgresql":
        made = PostgresOplogStore(request.getfixturevalue("postgres_url"))
    else:
        made = MemoryOplogStore() if request.param == "memory" else SQLiteOplogStore(tmp_path / "o.db")
    yield made
    made.close()


def test_append_read_and_conflict(store) -> None:  # type: ignore[no-untyped-def]
    entries = [PendingInvocation(f"k{i}", "f", [i]) for i in range(3)]
    store.append(W, 1, entries)
    assert store.read(W) == entries
    assert store.read(W, 2, 2) == entries[1:2]
    assert store.length(W) == 3
    with pytest.raises(OplogConflict):
        store.append(W, 3, entries[:1])
    assert store.workers() == [(W, 3)]


def test_group_commit_from_many_threads(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db")
    workers = [WorkerId("t", f"w{i}") for i in range(16)]

    def write(worker: WorkerId) -> None:
        for i in range(1, 51):
            store.append(worker, i, [PendingInvocation(f"k{i}", "f", [])])

    threads = [threading.Thread(target=write, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(store.workers()) == sorted((w, 50) for w in workers)
    store.close()
    with sqlite3.connect(tmp_path / "o.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_read_stops_at_a_corrupt_entry(tmp_path: Path) -> None:
    store = SQLiteOplogStore(tmp_path / "o.db")
    store.append(W, 1, [PendingInvocation(f"k{i}", "f", []) for i in range(5)])
    with sqlite3.connect(tmp_path / "o.db") as conn:
        conn.execute("UPDATE oplog SET payload = x'00' WHERE idx = 3")
    with pytest.raises(OplogCorruption, match="entry 3"):
        store.read(W)
    assert len(store.read(W, 1, 2)) == 2
    store.close()
