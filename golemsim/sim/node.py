"""Executor nodes: each runs the real executor core, one executor per shard it owns.

A node's state is one of up, crashed, draining, upgrading, restarting. A shard lives on a
node as a ShardHost: an Executor over the storage service with that shard's lease epoch.
Losing a shard (moved away, fenced, or the node crashed) halts its host: its threads unwind
and it writes nothing more; the new owner recovers the shard's workers from their oplogs.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from ..core.errors import GolemError
from ..core.executor import Executor
from .baton import Halted, Owner
from .network import Dropped
from .remote_store import RemoteOplogStore
from .sim_environment import SimEnvironment
from .world import Call, World

UP, CRASHED, DRAINING, UPGRADING, RESTARTING = "up", "crashed", "draining", "upgrading", "restarting"
NODE_STATES = (UP, CRASHED, DRAINING, UPGRADING, RESTARTING)


class NotOwner(GolemError):
    """The node does not serve this shard (now): ask the shard manager again."""


class ShardHost:
    """One shard on one node: an Executor over the remote oplog store with the shard's epoch."""

    def __init__(self, world: World, node: Node, shard: int, epoch: int) -> None:
        self.world = world
        self.node = node
        self.shard = shard
        self.epoch = epoch
        self.owner = Owner(f"{node.name}/shard-{shard}@{epoch}")
        seed = f"{world.seed}/{node.name}/{node.incarnation}/{shard}/{epoch}"
        self.environment = SimEnvironment(world, self.owner, node.name, random.Random(seed))
        self.store = RemoteOplogStore(world, node.name, shard, epoch, self.fenced)
        settings = world.settings
        self.executor = Executor(
            self.store,
            world.templates,
            environment=self.environment,
            max_live_instances=settings.max_live_per_node,
            limits=settings.limits,
            retry=settings.retry,
            suspend_after=settings.suspend_after,
            snapshots=settings.snapshots,
        )
        self.executor.on_recovery = lambda worker, info, seconds: world.recovered(
            node.name, worker, info.mode, info.invocations, info.entries, seconds
        )
        self.executor.on_replay = lambda worker, index, end: world.replaying(node.name, worker, index, end)
        self.active = 0
        self.leaving = False
        self.stopped = False

    def start(self) -> None:
        """Recover the shard's workers that have unfinished invocations."""
        self.world.baton.spawn(self.owner, f"{self.owner.name}:resume", self.executor.resume_all)

    def fenced(self, reason: str) -> None:
        self.world.trace.record(self.world.env.now, "fenced", node=self.node.name, shard=self.shard)
        self.world.metrics.count("fenced_writes")
        self.node.drop(self.shard, f"fenced: {reason}")

    def stop(self, reason: str) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.executor.halt()
        self.world.baton.halt(self.owner, reason)


class Node:
    """A simulated machine running executors for the shards the shard manager gives it."""

    def __init__(self, world: World, name: str) -> None:
        self.world = world
        self.env: simpy.Environment = world.env
        self.name = name
        self.state = UP
        self.incarnation = 0
        self.hosts: dict[int, ShardHost] = {}
        self.env.process(self._heartbeats(self.incarnation))

    def set_state(self, state: str) -> None:
        self.state = state
        self.world.trace.record(self.env.now, "node", node=self.name, state=state)
        self.world.metrics.node_state(self.env.now, self.name, state)

    # --- serving ---
    def handle(self, shard: int, epoch: int, call: Call) -> Generator[simpy.Event, Any, Any]:
        """Run a call for a shard (SimPy side). Raises NotOwner if this node does not serve it."""
        if self.state == CRASHED or self.state in (UPGRADING, RESTARTING):
            raise Dropped()
        host = self.hosts.get(shard)
        if self.state == DRAINING or host is None or host.epoch != epoch or host.leaving:
            raise NotOwner(f"{self.name} does not serve shard {shard} at epoch {epoch}")
        host.active += 1
        try:
            result = yield self.world.baton.call(
                host.owner, f"{host.owner.name}:{call.name}", lambda: call.run(host.executor)
            )
        except Halted:
            if self.state == CRASHED:
                raise Dropped() from None
            raise NotOwner(f"{self.name} lost shard {shard} during the call") from None
        finally:
            host.active -= 1
        return result

    # --- shards ---
    def reconcile(self, assigned: dict[int, int]) -> None:
        """Serve exactly the shards (with epochs) the shard manager assigned to this node."""
        if self.state != UP:
            return
        for shard in sorted(self.hosts):
            if assigned.get(shard) != self.hosts[shard].epoch:
                self.drop(shard, "moved to another node")
        for shard, epoch in sorted(assigned.items()):
            if shard not in self.hosts:
                host = self.hosts[shard] = ShardHost(self.world, self, shard, epoch)
                self.world.trace.record(self.env.now, "acquire", node=self.name, shard=shard, epoch=epoch)
                host.start()
        share = max(1, self.world.settings.max_live_per_node // max(1, len(self.hosts)))
        for host in self.hosts.values():
            host.executor.max_live_instances = share  # applied at each host's next invocation

    def drop(self, shard: int, reason: str) -> None:
        host = self.hosts.pop(shard, None)
        if host is not None:
            self.world.trace.record(self.env.now, "release", node=self.name, shard=shard, reason=reason)
            host.stop(f"{self.name} released shard {shard}: {reason}")

    def release(self, shard: int, grace: float) -> Generator[simpy.Event, Any, None]:
        """Hand a shard off gracefully: refuse new calls, let running ones finish (up to ``grace``)."""
        host = self.hosts.get(shard)
        if host is None:
            return
        host.leaving = True
        waited = 0.0
        while host.active > 0 and waited < grace:
            yield self.env.timeout(0.01)
            waited += 0.01
        self.drop(shard, "handed off")

    # --- faults ---
    def crash(self) -> None:
        """Lose everything in memory: every shard host halts at once; nothing more is written."""
        if self.state == CRASHED:
            return
        self.set_state(CRASHED)
        for shard in sorted(self.hosts):
            self.hosts.pop(shard).stop(f"{self.name} crashed")

    def restart(self, delay: float = 0.0) -> Generator[simpy.Event, Any, None]:
        """Stay down (crashed or upgrading) for ``delay`` seconds, boot with empty memory, rejoin."""
        yield self.env.timeout(delay)
        self.set_state(RESTARTING)
        yield self.env.timeout(self.world.settings.boot_time)
        self.incarnation += 1
        self.set_state(UP)
        self.env.process(self._heartbeats(self.incarnation))

    def drain(self) -> Generator[simpy.Event, Any, None]:
        """Hand every shard to other nodes, letting running calls finish."""
        self.set_state(DRAINING)
        yield self.env.process(self.world.shard_manager.evacuate(self.name))

    def power_off(self) -> None:
        """The run is over: stop every shard host (nothing is recorded)."""
        for shard in sorted(self.hosts):
            self.hosts.pop(shard).stop(f"{self.name} powered off")

    def stop_for_upgrade(self) -> None:
        self.set_state(UPGRADING)
        for shard in sorted(self.hosts):
            self.hosts.pop(shard).stop(f"{self.name} stopped for an upgrade")

    def _heartbeats(self, incarnation: int) -> Generator[simpy.Event, Any, None]:
        settings = self.world.settings
        manager = self.world.shard_manager
        while self.incarnation == incarnation and self.state != CRASHED:
            if self.state in (UP, DRAINING):
                answer = self.world.network.request(
                    self.name,
                    "shards",
                    lambda: manager.heartbeat(self.name, self.state == DRAINING),
                    settings.heartbeat_interval,
                )
                try:
                    assigned = yield answer
                except Exception:  # lost or partitioned: try again next beat
                    assigned = None
                if assigned is not None and self.incarnation == incarnation and self.state == UP:
                    self.reconcile(assigned)
                    yield self.env.timeout(settings.heartbeat_interval)
                    continue
            yield self.env.timeout(settings.heartbeat_interval)
