"""The PostgreSQL oplog store on a real server: corruption on the server is detected as in SQLite,
appends from many threads, read-only opening, bad URLs, and fencing by shard lease epoch under
real concurrency (a takeover racing appending threads)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from golemsim import BadRequest, OplogConflict, OplogCorruption, WorkerId
from golemsim.core.errors import Fenced, SnapshotError
from golemsim.core.oplog import PendingInvocation, PostgresOplogStore
from golemsim.core.oplog.postgres_store import LEASES_SCHEMA
from golemsim.core.oplog.snapshot import Snapshot
from golemsim.core.postgres import connect

W = WorkerId("kit", "w1")
OTHER = WorkerId("kit", "w2")


def entries(first: int, last: int) -> list[PendingInvocation]:
    return [PendingInvocation(f"k{i}", "add", [i], at_ms=i) for i in range(first, last + 1)]


def snap(index: int, data: bytes = b"state") -> Snapshot:
    return Snapshot(index, 1, "c0ffee", data, at_ms=1000 + index)


def sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own (autocommit) and return its rows, if any."""
    with connect(url) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def shard_by_number(worker: WorkerId) -> int:
    """Workers ``w<n>``: shard n % 2."""
    return int(worker.name[1:]) % 2


@pytest.fixture
def store(postgres_url: str) -> Iterator[PostgresOplogStore]:
    made = PostgresOplogStore(postgres_url)
    yield made
    made.close()


def set_lease(url: str, shard: int, epoch: int) -> None:
    sql(
        url,
        "INSERT INTO shard_leases VALUES (%s, 'exec-a', '127.0.0.1:1', %s, now() + interval '1 minute')"
        " ON CONFLICT (shard) DO UPDATE SET epoch = excluded.epoch",
        (shard, epoch),
    )


# -- corruption on the server, as the SQLite tests corrupt the file --------------------------


def test_read_stops_at_a_corrupt_entry_even_after_a_first_read(store: PostgresOplogStore, postgres_url: str) -> None:
    store.append(W, 1, entries(1, 5))
    before = store.read(W)
    sql(postgres_url, "UPDATE oplog SET payload = '\\x00'::bytea WHERE idx = 3")
    with pytest.raises(OplogCorruption, match="kit/w1 is corrupt at entry 3"):
        store.read(W)
    assert store.read(W, 1, 2) == before[:2]
    sql(postgres_url, "UPDATE oplog SET checksum = checksum + 1 WHERE idx = 4")
    with pytest.raises(OplogCorruption, match="entry 4: checksum mismatch"):
        store.read(W, 4)


def test_a_corrupt_snapshot_is_a_snapshot_error(store: PostgresOplogStore, postgres_url: str) -> None:
    store.append(W, 1, entries(1, 3))
    store.put_snapshot(W, snap(3, b"precious"))
    sql(postgres_url, "UPDATE snapshots SET data = %s WHERE worker = %s", (b"pr3cious", str(W)))
    with pytest.raises(
        SnapshotError, match="the snapshot of worker kit/w1 after entry 3 is corrupt: checksum mismatch"
    ):
        store.latest_snapshot(W)
    sql(
        postgres_url, "UPDATE snapshots SET data = %s, worker = %s WHERE worker = %s", (b"precious", str(OTHER), str(W))
    )
    with pytest.raises(SnapshotError, match="worker kit/w2 after entry 3 is corrupt"):
        store.latest_snapshot(OTHER)


def test_corruption_in_the_archive_is_detected_and_nothing_beyond_it_is_returned(
    store: PostgresOplogStore, postgres_url: str
) -> None:
    store.append(W, 1, entries(1, 8))
    store.put_snapshot(W, snap(6))
    store.compact(W, 6, archive=True)
    assert store.read_archived(W) == entries(1, 6)
    ((payload,),) = sql(postgres_url, "SELECT payload FROM oplog_archive WHERE worker = %s AND idx = 4", (str(W),))
    flipped = bytes([payload[0] ^ 1]) + bytes(payload[1:])
    sql(postgres_url, "UPDATE oplog_archive SET payload = %s WHERE worker = %s AND idx = 4", (flipped, str(W)))
    with pytest.raises(OplogCorruption, match="kit/w1 is corrupt at entry 4: checksum mismatch"):
        store.read_archived(W)
    assert store.read_archived(W, 1, 3) == entries(1, 3)
    assert store.read_archived(W, 5) == entries(5, 6)
    assert store.read(W) == entries(7, 8)


def test_the_archive_keeps_the_bytes_and_checksums_of_the_hot_oplog(
    store: PostgresOplogStore, postgres_url: str
) -> None:
    store.append(W, 1, entries(1, 5))
    before = sql(postgres_url, "SELECT idx, kind, payload, checksum FROM oplog WHERE idx <= 3 ORDER BY idx")
    store.put_snapshot(W, snap(3))
    store.compact(W, 3, archive=True)
    after = sql(postgres_url, "SELECT idx, kind, payload, checksum FROM oplog_archive ORDER BY idx")
    assert after == before
    assert sql(postgres_url, "SELECT min(idx) FROM oplog") == [(4,)]


def test_the_watermark_snapshot_and_archive_survive_reopening(store: PostgresOplogStore, postgres_url: str) -> None:
    store.append(W, 1, entries(1, 5))
    store.put_snapshot(W, snap(5, b"kept"))
    store.compact(W, 5, archive=True)
    store.close()
    reopened = PostgresOplogStore(postgres_url, pool_size=2)
    assert (reopened.length(W), reopened.first_index(W), reopened.workers()) == (5, 6, [(W, 5)])
    assert reopened.latest_snapshot(W) == snap(5, b"kept")
    assert reopened.read_archived(W) == entries(1, 5)
    with pytest.raises(OplogConflict):
        reopened.append(W, 1, entries(1, 1))
    reopened.append(W, 6, entries(6, 6))
    assert reopened.read(W) == entries(6, 6)
    reopened.close()


# -- concurrency, read-only, URLs ---------------------------------------------------------------


def test_many_threads_append_through_a_small_pool(postgres_url: str) -> None:
    store = PostgresOplogStore(postgres_url, pool_size=4)
    workers = [WorkerId("t", f"w{i}") for i in range(16)]
    errors: list[BaseException] = []

    def write(worker: WorkerId) -> None:
        try:
            for i in range(1, 31, 3):
                store.append(worker, i, entries(i, i + 2))
        except BaseException as error:
            errors.append(error)

    run_threads([lambda w=w: write(w) for w in workers])  # type: ignore[misc]
    assert errors == []
    assert store.workers() == sorted((w, 30) for w in workers)
    assert all(store.read(w) == entries(1, 30) for w in workers)
    assert sql(postgres_url, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")[0][0] <= 5
    store.close()


def test_racing_appends_at_the_same_index_land_once_and_the_rest_conflict(store: PostgresOplogStore) -> None:
    store.append(W, 1, entries(1, 1))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def race(n: int) -> None:
        barrier.wait()
        try:
            store.append(W, 2, [PendingInvocation(f"racer{n}", "add", [n])])
            outcomes.append("landed")
        except OplogConflict:
            outcomes.append("conflict")

    run_threads([lambda n=n: race(n) for n in range(8)])  # type: ignore[misc]
    assert sorted(outcomes) == ["conflict"] * 7 + ["landed"]
    assert store.length(W) == 2


def test_read_only_reads_and_refuses_writes(store: PostgresOplogStore, postgres_url: str) -> None:
    store.append(W, 1, entries(1, 2))
    reader = PostgresOplogStore(postgres_url, read_only=True)
    assert reader.read(W) == entries(1, 2)
    for write in (
        lambda: reader.append(W, 3, entries(3, 3)),
        lambda: reader.put_snapshot(W, snap(2)),
        lambda: reader.compact(W, 1, archive=True),
        lambda: reader.delete(W),
    ):
        with pytest.raises(BadRequest, match="read-only"):
            write()
    assert reader.length(W) == 2
    reader.close()


def test_read_only_on_a_database_without_oplogs_is_a_bad_request(postgres_url: str) -> None:
    with pytest.raises(BadRequest, match="is not a golemsim database"):
        PostgresOplogStore(postgres_url, read_only=True)


def test_a_bad_url_is_a_bad_request_naming_it_without_its_password(postgres_url: str) -> None:
    bad = postgres_url.replace("golemsim@", "golemsim:s3cret@").rsplit(":", 1)[0] + ":1/nowhere"
    with pytest.raises(
        BadRequest, match=re.escape("cannot connect to postgresql://golemsim:***@127.0.0.1:1/nowhere")
    ) as caught:
        PostgresOplogStore(bad)
    assert "s3cret" not in str(caught.value)


def test_two_stores_opening_one_new_database_at_once_both_work(postgres_url: str) -> None:
    opened: list[PostgresOplogStore] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def open_one() -> None:
        barrier.wait()
        try:
            opened.append(PostgresOplogStore(postgres_url))
        except BaseException as error:
            errors.append(error)

    run_threads([open_one, open_one])
    assert errors == [] and len(opened) == 2
    first, second = opened
    first.append(W, 1, entries(1, 2))
    second.append(W, 3, entries(3, 3))
    assert first.read(W) == second.read(W) == entries(1, 3)
    for made in opened:
        made.close()


# -- fencing ----------------------------------------------------------------------------------


def test_a_view_with_a_stale_or_missing_lease_is_refused_and_writes_nothing(
    store: PostgresOplogStore, postgres_url: str
) -> None:
    store.append(W, 1, entries(1, 4))
    store.put_snapshot(W, snap(2))
    unleased = store.fenced(1, 1, shard_by_number)
    with pytest.raises(Fenced, match="shard 1: this writer holds epoch 1, but no lease"):
        unleased.append(W, 5, entries(5, 5))
    set_lease(postgres_url, 1, 2)
    stale = store.fenced(1, 1, shard_by_number)
    for write in (
        lambda: stale.append(W, 5, entries(5, 5)),
        lambda: stale.append(OTHER, 1, entries(1, 1)),
        lambda: stale.put_snapshot(W, snap(4)),
        lambda: stale.compact(W, 2, archive=True),
        lambda: stale.delete(W),
    ):
        with pytest.raises(Fenced, match="shard 1: this writer holds epoch 1, but the lease is at epoch 2"):
            write()
    assert store.read(W) == entries(1, 4) and store.first_index(W) == 1
    assert store.latest_snapshot(W) == snap(2)
    assert store.workers() == [(W, 4)]
    assert stale.read(W) == entries(1, 4)  # reads are not fenced

    current = store.fenced(1, 2, shard_by_number)
    current.append(W, 5, entries(5, 5))
    current.put_snapshot(W, snap(5))
    assert current.compact(W, 3, archive=True) == 3
    assert current.read_archived(W) == entries(1, 3)
    current.delete(OTHER)
    current.close()  # does nothing: the parent still works
    assert store.read(W) == entries(4, 5)


def test_a_view_lists_only_its_shards_workers(store: PostgresOplogStore, postgres_url: str) -> None:
    for n in range(6):
        store.append(WorkerId("kit", f"w{n}"), 1, entries(1, n + 1))
    even = store.fenced(0, 1, shard_by_number)
    odd = store.fenced(1, 1, shard_by_number)
    assert even.workers() == [(WorkerId("kit", f"w{n}"), n + 1) for n in (0, 2, 4)]
    assert odd.workers() == [(WorkerId("kit", f"w{n}"), n + 1) for n in (1, 3, 5)]
    assert store.workers() == sorted(even.workers() + odd.workers())


def test_after_a_takeover_commits_no_append_of_the_old_epoch_lands(postgres_url: str) -> None:
    """Appending threads race a lease takeover made on another connection, five times over: every
    append that returned is in the oplog, and the oplog does not change once the takeover has committed."""
    store = PostgresOplogStore(postgres_url, pool_size=8)
    set_lease(postgres_url, 0, 1)
    for epoch in range(1, 6):
        race_a_takeover(store, postgres_url, epoch)
    store.close()


def race_a_takeover(store: PostgresOplogStore, url: str, epoch: int) -> None:
    view = store.fenced(0, epoch, lambda worker: 0)
    workers = [WorkerId(f"race{epoch}", f"w{i}") for i in range(12)]
    landed: list[tuple[WorkerId, int]] = []
    fenced: list[WorkerId] = []
    errors: list[BaseException] = []
    started = threading.Event()
    lock = threading.Lock()

    def append_until_fenced(worker: WorkerId) -> None:
        try:
            for index in range(1, 100_000):
                view.append(worker, index, entries(index, index))
                with lock:
                    landed.append((worker, index))
                    if len(landed) >= 200:
                        started.set()
        except Fenced:
            with lock:
                fenced.append(worker)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append_until_fenced, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    assert started.wait(60)
    with connect(url) as takeover, takeover.transaction():
        takeover.execute("UPDATE shard_leases SET epoch = epoch + 1, owner = 'exec-b' WHERE shard = 0")
    ours = f"race{epoch}/%"
    at_takeover = set(sql(url, "SELECT worker, idx FROM oplog WHERE worker LIKE %s", (ours,)))
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(fenced) == sorted(workers)  # every thread was refused once the takeover committed
    final = set(sql(url, "SELECT worker, idx FROM oplog WHERE worker LIKE %s", (ours,)))
    assert final == at_takeover  # nothing of the old epoch landed after the takeover
    assert final == {(str(worker), index) for worker, index in landed}  # every append that returned is there


def run_threads(targets: list[Callable[[], None]]) -> None:
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_the_leases_table_is_created_with_the_oplog_tables(store: PostgresOplogStore, postgres_url: str) -> None:
    assert "CREATE TABLE IF NOT EXISTS shard_leases" in LEASES_SCHEMA
    columns = sql(
        postgres_url,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'shard_leases'"
        " ORDER BY ordinal_position",
    )
    assert columns == [
        ("shard", "integer"),
        ("owner", "text"),
        ("address", "text"),
        ("epoch", "bigint"),
        ("expires_at", "timestamp with time zone"),
    ]
