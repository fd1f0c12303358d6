"""Which shards an executor process should take and give up: the pure half of the lease protocol.

Every live executor process runs this on each heartbeat over the same table it has just read,
so all of them agree on the fair share without talking to each other. The live members,
sorted by id, split the shards as evenly as possible (the first ``shards % members`` get one
more); a process takes free or expired shards while it has fewer than its share, lowest
first, and gives up its highest shards while it has more. Nothing here reads a clock or the
database: the caller passes what it read, so the plan is a function of its input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """One row of the lease table, as read in a heartbeat."""

    shard: int
    owner: str
    address: str
    epoch: int
    expired: bool


@dataclass(frozen=True)
class LeasePlan:
    take: tuple[int, ...]
    """Free or expired shards to acquire now (each with a new epoch)."""
    give_up: tuple[int, ...]
    """Shards this process holds beyond its share: stop serving them, then release their leases."""


def fair_share(shards: int, members: list[str], me: str) -> int:
    """How many shards ``me`` should hold when ``members`` (``me`` among them) split ``shards``."""
    ordered = sorted(set(members) | {me})
    base, extra = divmod(shards, len(ordered))
    return base + (1 if ordered.index(me) < extra else 0)


def plan_round(shards: int, me: str, members: list[str], leases: dict[int, Lease]) -> LeasePlan:
    """What ``me`` should do this heartbeat, given the live members and every lease row."""
    share = fair_share(shards, members, me)
    held = sorted(shard for shard, lease in leases.items() if lease.owner == me and not lease.expired)
    if len(held) > share:
        return LeasePlan(take=(), give_up=tuple(held[share:]))
    available = [shard for shard in range(shards) if shard not in leases or leases[shard].expired]
    return LeasePlan(take=tuple(available[: share - len(held)]), give_up=())
