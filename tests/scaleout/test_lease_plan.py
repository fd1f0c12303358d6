"""The pure half of the lease protocol: every member computes the same fair split."""

from __future__ import annotations

from golemsim.scaleout.lease_plan import Lease, fair_share, plan_round


def lease(shard: int, owner: str, *, expired: bool = False, epoch: int = 1) -> Lease:
    return Lease(shard, owner, f"http://{owner}", epoch, expired)


def test_fair_shares_add_up_to_every_shard_and_differ_by_at_most_one() -> None:
    for shards in (1, 7, 16):
        for count in (1, 2, 3, 5):
            members = [f"m{i}" for i in range(count)]
            shares = [fair_share(shards, members, m) for m in members]
            assert sum(shares) == shards
            assert max(shares) - min(shares) <= 1


def test_a_lone_member_takes_every_free_shard() -> None:
    plan = plan_round(4, "a", ["a"], {})
    assert plan.take == (0, 1, 2, 3) and plan.give_up == ()


def test_a_newcomer_makes_the_holder_give_up_its_highest_shards() -> None:
    leases = {s: lease(s, "a") for s in range(4)}
    assert plan_round(4, "a", ["a", "b"], leases).give_up == (2, 3)
    assert plan_round(4, "b", ["a", "b"], leases).take == ()  # nothing is free until a releases
    released = {**leases, 2: lease(2, "a", expired=True), 3: lease(3, "a", expired=True)}
    assert plan_round(4, "b", ["a", "b"], released).take == (2, 3)


def test_expired_leases_of_a_dead_member_are_taken_over() -> None:
    leases = {0: lease(0, "a"), 1: lease(1, "dead", expired=True), 2: lease(2, "a"), 3: lease(3, "dead", expired=True)}
    plan = plan_round(4, "a", ["a"], leases)
    assert plan.take == (1, 3)


def test_a_member_whose_own_lease_expired_takes_it_again_as_a_new_lease() -> None:
    leases = {0: lease(0, "a", expired=True, epoch=4)}
    assert plan_round(1, "a", ["a"], leases).take == (0,)
