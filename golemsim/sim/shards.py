"""The shard manager: workers to shards by a stable hash, shards to nodes with leases.

Nodes send heartbeats; the answer is the node's assignment (shard -> lease epoch), which
the node then serves. A node silent for longer than the heartbeat timeout is declared dead
and its shards go to the live nodes. Every assignment takes a new epoch, written to the
storage service first: the storage refuses appends with an older epoch (fencing).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import simpy

from .world import World
from .world import shard_of as shard_of  # where a reader of shards looks for it (world.py needs it too)


class ShardManager:
    """Assigns shards to live nodes; detects dead nodes by missing heartbeats."""

    def __init__(self, world: World, shards: int) -> None:
        self.world = world
        self.env: simpy.Environment = world.env
        self.shards = shards
        self.assignment: dict[int, tuple[str, int]] = {}
        self.epochs: dict[int, int] = {}
        self.last_seen: dict[str, float] = {}
        """Live nodes and when each was last heard from."""
        self.leaving: set[str] = set()
        self._moving: set[int] = set()
        self._planned: dict[int, str] = {}
        """Rebalancing moves planned and not yet done: shard -> the node it goes to."""
        self.env.process(self._monitor())

    def owner(self, shard: int) -> tuple[str, int] | None:
        return self.assignment.get(shard)

    def shards_of(self, node: str) -> dict[int, int]:
        return {s: e for s, (n, e) in sorted(self.assignment.items()) if n == node}

    def heartbeat(self, node: str, draining: bool) -> Generator[simpy.Event, Any, dict[int, int]]:
        """A node says it is alive; the answer is what it should serve."""
        if not draining and node in self.leaving:
            self.leaving.discard(node)
        if node not in self.last_seen and node not in self.leaving:
            self.last_seen[node] = self.env.now
            self._join(node)
        if node in self.last_seen:
            self.last_seen[node] = self.env.now
        yield self.env.timeout(0)
        return self.shards_of(node)

    def _live(self) -> list[str]:
        return sorted(n for n in self.last_seen if n not in self.leaving)

    def _load(self, node: str) -> int:
        return sum(1 for n, _ in self.assignment.values() if n == node)

    def _least_loaded(self) -> str | None:
        candidates = self._live()
        return min(candidates, key=lambda n: (self._load(n), n)) if candidates else None

    def _assign(self, shard: int, node: str) -> None:
        epoch = self.epochs.get(shard, 0) + 1
        self.epochs[shard] = epoch
        self.world.storage.leases[shard] = epoch  # the fence moves before the new owner hears of it
        self.assignment[shard] = (node, epoch)
        self.world.trace.record(self.env.now, "assign", shard=shard, node=node, epoch=epoch)

    def _join(self, node: str) -> None:
        self.world.trace.record(self.env.now, "join", node=node)
        for shard in range(self.shards):
            if shard not in self.assignment:
                self._assign(shard, node)
        self._rebalance()

    def _rebalance(self) -> None:
        """Plan graceful moves from the most loaded live node to the least loaded one until no
        two differ by more than one shard. Moves under way count where they go, and a move
        that has not landed yet may be sent on to a node that needs it more."""
        live = self._live()

        def load(node: str) -> int:
            outgoing = sum(1 for shard in self._planned if self.assignment[shard][0] == node)
            incoming = sum(1 for to in self._planned.values() if to == node)
            return self._load(node) - outgoing + incoming

        def movable(node: str) -> list[int]:
            on_the_way = [shard for shard, to in sorted(self._planned.items()) if to == node]
            owned = [s for s in self.shards_of(node) if s not in self._moving and s not in self._planned]
            return on_the_way + owned

        while len(live) > 1:
            low = min(live, key=lambda n: (load(n), n))
            donors = [n for n in live if load(n) - load(low) > 1 and movable(n)]
            if not donors:
                return
            shard = movable(max(donors, key=lambda n: (load(n), n)))[0]
            if shard not in self._planned:
                self.env.process(self._planned_move(shard))
            self._planned[shard] = low

    def _planned_move(self, shard: int) -> Generator[simpy.Event, Any, None]:
        try:
            yield from self.move(shard, self._planned[shard])
        finally:
            self._planned.pop(shard, None)

    def move(self, shard: int, to: str) -> Generator[simpy.Event, Any, None]:
        """Hand a shard to ``to``: ask its owner to let running calls finish, then reassign."""
        current = self.assignment.get(shard)
        if current is None or current[0] == to or shard in self._moving:
            return
        self._moving.add(shard)
        settings = self.world.settings
        node = self.world.nodes[current[0]]
        try:
            yield self.world.network.request(
                "shards", node.name, lambda: node.release(shard, settings.handoff_grace), settings.handoff_grace + 1.0
            )
        except Exception:  # no answer: the epoch moves anyway, and fencing stops the old owner
            pass
        finally:
            self._moving.discard(shard)
        to = self._planned.get(shard, to)  # a rebalance may have sent it on elsewhere meanwhile
        if self.assignment.get(shard) == current and to in self.last_seen:
            self._assign(shard, to)

    def evacuate(self, node: str) -> Generator[simpy.Event, Any, None]:
        """Move every shard off a draining node (it gets none back until it rejoins)."""
        self.leaving.add(node)
        moves = []
        incoming: dict[str, int] = {}
        for shard in sorted(self.shards_of(node)):
            candidates = [n for n in self._live() if n != node]
            if not candidates:
                break
            target = min(candidates, key=lambda n: (self._load(n) + incoming.get(n, 0), n))
            incoming[target] = incoming.get(target, 0) + 1
            moves.append(self.env.process(self.move(shard, target)))
        if moves:
            yield simpy.AllOf(self.env, moves)
        self.last_seen.pop(node, None)

    def _monitor(self) -> Generator[simpy.Event, Any, None]:
        settings = self.world.settings
        while True:
            yield self.env.timeout(settings.heartbeat_interval)
            for node in sorted(self.last_seen):
                if self.env.now - self.last_seen[node] > settings.heartbeat_timeout:
                    self._declare_dead(node)

    def _declare_dead(self, node: str) -> None:
        del self.last_seen[node]
        self.leaving.discard(node)
        self.world.trace.record(self.env.now, "dead", node=node)
        self.world.metrics.count("nodes_declared_dead")
        for shard in sorted(self.shards_of(node)):
            target = self._least_loaded()
            if target is None:
                del self.assignment[shard]  # nobody to serve it until a node joins
            else:
                self._assign(shard, target)
