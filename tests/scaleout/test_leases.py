"""Shard leases in a real PostgreSQL database: fair split, takeover after expiry, epochs, fencing."""

from __future__ import annotations

import time

import pytest

from golemsim.core.errors import BadRequest, Fenced
from golemsim.core.ids import WorkerId, shard_of
from golemsim.core.oplog.entries import PendingInvocation
from golemsim.core.oplog.postgres_store import PostgresOplogStore
from golemsim.scaleout.leases import ShardLeases


def test_two_members_split_the_shards_and_a_leaver_hands_over_at_once(postgres_url: str) -> None:
    a = ShardLeases(postgres_url, "a", "http://a", lease_seconds=5)
    b = ShardLeases(postgres_url, "b", "http://b", lease_seconds=5)
    shards = a.shard_count(8)
    assert b.shard_count(None) == 8
    assert sorted(a.heartbeat(shards).held) == list(range(8))  # alone: everything
    assert b.heartbeat(shards).held == {}  # nothing free yet
    round_a = a.heartbeat(shards)
    assert round_a.plan.give_up == (4, 5, 6, 7)
    a.release(list(round_a.plan.give_up))
    took = b.heartbeat(shards).held
    assert took == {4: 2, 5: 2, 6: 2, 7: 2}  # a new epoch for each shard that changed hands
    a.leave()
    assert b.heartbeat(shards).held == {**{s: 2 for s in range(4)}, **took}
    for leases in (a, b):
        leases.close()


def test_an_expired_lease_is_taken_over_with_a_new_epoch_and_fences_the_old_owner(postgres_url: str) -> None:
    old = ShardLeases(postgres_url, "old", "http://old", lease_seconds=0.3)
    new = ShardLeases(postgres_url, "new", "http://new", lease_seconds=5)
    store = PostgresOplogStore(postgres_url)
    try:
        assert old.heartbeat(1).held == {0: 1}
        stale = store.fenced(0, 1, lambda worker: shard_of(worker, 1))
        worker = WorkerId("t", "w")
        stale.append(worker, 1, [PendingInvocation("k1", "f", [])])
        assert new.heartbeat(1).held == {}  # not expired yet: "old" is a live member
        time.sleep(0.4)  # "old" is paused past its lease
        assert new.heartbeat(1).held == {0: 2}
        with pytest.raises(Fenced):
            stale.append(worker, 2, [PendingInvocation("k2", "f", [])])
        assert old.heartbeat(1).held == {}  # the old owner learns it on its next heartbeat
        assert store.read(worker) == [PendingInvocation("k1", "f", [])]
    finally:
        store.close()
        old.close()
        new.close()


def test_a_different_shard_count_is_refused(postgres_url: str) -> None:
    leases = ShardLeases(postgres_url, "a", "http://a")
    try:
        assert leases.shard_count(None) == 16
        with pytest.raises(BadRequest, match="16 shards"):
            leases.shard_count(4)
    finally:
        leases.close()


def test_serve_processes_and_a_lone_executor_exclude_each_other(postgres_url: str) -> None:
    from golemsim import DatabaseLocked, Executor

    member = ShardLeases(postgres_url, "a", "http://a")
    second = ShardLeases(postgres_url, "b", "http://b")  # serve processes share the database
    with pytest.raises(DatabaseLocked, match="in use by another executor"):
        Executor.open(postgres_url)
    member.close()
    second.close()
    lone = Executor.open(postgres_url)
    try:
        with pytest.raises(DatabaseLocked, match="lone executor"):
            ShardLeases(postgres_url, "c", "http://c")
    finally:
        lone.close()
