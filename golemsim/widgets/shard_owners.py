"""Which node owns each shard, followed from a run's events (assign, acquire, release), so a
view can tell which workers a node's crash or a shard's move concerns."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.ids import WorkerId

if TYPE_CHECKING:
    from ..sim.cluster import Cluster


class ShardOwners:
    """Shard -> owning node ("" while nobody owns it), and worker -> shard."""

    def __init__(self) -> None:
        self.owners: list[str] = []
        self._shard_of: Callable[[WorkerId], int] | None = None

    def started(self, cluster: Cluster) -> None:
        """Read the cluster's shard map as the run starts."""
        self._shard_of = cluster.shard_of
        self.owners = []
        for shard in range(cluster.settings.shards):
            owner = cluster.shard_manager.owner(shard)
            self.owners.append(owner[0] if owner else "")

    def shard(self, worker: str) -> int:
        return self._shard_of(WorkerId.parse(worker)) if self._shard_of else 0

    def node_of(self, worker: str) -> str:
        """The node owning the worker's shard, as far as the events told ("" if none)."""
        shard = self.shard(worker)
        return self.owners[shard] if shard < len(self.owners) else ""

    def set(self, shard: int, node: str) -> str:
        """Record a new owner; the previous one is returned."""
        previous = self.owners[shard]
        self.owners[shard] = node
        return previous

    def release(self, shard: int, node: str) -> bool:
        """``node`` let the shard go: True if it was the owner (a handoff, not a late fence)."""
        if self.owners[shard] != node:
            return False
        self.owners[shard] = ""
        return True
