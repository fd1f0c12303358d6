"""An executor process among several over one PostgreSQL database.

The node holds shard leases (leases.ShardLeases, renewed by a heartbeat thread), runs one
ShardHost per shard it holds, and routes every request about a worker (a public invocation,
a worker-to-worker call, a schedule, a promise completion) to the worker's owner: its own
ShardHost, or another process over the peer protocol. A request that finds no owner, or an
owner that just lost the shard, waits a little, looks the owner up again and is sent again
with the same idempotency key, so it joins or returns the first run, never starts a second.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ..core.engine import Engine
from ..core.environment import WorkerCall
from ..core.errors import Fenced, GolemError, Interrupted, InvocationPending
from ..core.ids import WorkerId, shard_of
from ..core.oplog.postgres_store import PostgresOplogStore
from ..core.postgres_templates import PostgresTemplateStore
from ..core.promises import promise_owner
from ..core.services import ServiceRegistry
from ..core.templates import TemplateRegistry
from .lease_plan import Lease
from .leases import ShardLeases
from .peer import NotOwner, PeerClient, PeerUnreachable
from .shard_host import ShardHost

log = logging.getLogger("golemsim.scaleout")

T = TypeVar("T")

MOVED = (Fenced, Interrupted, NotOwner, PeerUnreachable)
"""Errors that mean "the owner changed under us": look it up again and resend."""


class NoOwner(GolemError):
    """No process answered for the worker's shard in time (all down, or the shard is moving)."""


class ExecutorNode:
    """This process's part of the cluster: leases, shard hosts, and routing to the owners."""

    def __init__(
        self,
        url: str,
        address: str,
        services: ServiceRegistry,
        *,
        shards: int | None = None,
        lease_seconds: float = 5.0,
        max_live_instances: int = 64,
        suspend_after: float = 1.0,
        route_deadline: float = 30.0,
    ) -> None:
        self.owner = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"
        self.address = address
        self.services = services
        self.lease_seconds = lease_seconds
        self.max_live_instances = max_live_instances
        self.suspend_after = suspend_after
        self.route_deadline = route_deadline
        self.store = PostgresOplogStore(url)
        self.templates = TemplateRegistry(PostgresTemplateStore(url), Engine())
        self.leases = ShardLeases(url, self.owner, address, lease_seconds=lease_seconds)
        self.shards = self.leases.shard_count(shards)
        self.hosts: dict[int, ShardHost] = {}
        self.routes: dict[int, Lease] = {}
        self.peers = PeerClient()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._last_renewed = time.monotonic()
        self._beats: threading.Thread | None = None

    # -- leases -------------------------------------------------------------------------------

    def start(self) -> None:
        """Take a first share of the shards now, then keep the leases by heartbeat."""
        self.heartbeat()
        self._beats = threading.Thread(target=self._beat_forever, name="lease-heartbeat", daemon=True)
        self._beats.start()

    def heartbeat(self) -> None:
        """One lease round: renew, take, give up; start and stop shard hosts to match."""
        started = time.monotonic()
        round_ = self.leases.heartbeat(self.shards)
        self._last_renewed = started
        self.templates.forget_versions()  # a version deployed by another process is seen within a heartbeat
        with self._lock:
            self.routes = round_.leases
            for shard in sorted(self.hosts):
                host = self.hosts[shard]
                if round_.held.get(shard) != host.epoch or shard in round_.plan.give_up:
                    self._drop(shard, "given up" if shard in round_.plan.give_up else "lease lost")
            for shard, epoch in sorted(round_.held.items()):
                if shard not in self.hosts and shard not in round_.plan.give_up:
                    self.hosts[shard] = host = self._host(shard, epoch)
                    log.info("%s: took shard %d at epoch %d", self.address, shard, epoch)
                    host.start()
        self.leases.release(list(round_.plan.give_up))  # after their hosts stopped

    def _host(self, shard: int, epoch: int) -> ShardHost:
        share = max(1, self.max_live_instances // max(1, len(self.hosts) + 1))
        return ShardHost(
            self.store,
            self.templates,
            self.services,
            shard=shard,
            shards=self.shards,
            epoch=epoch,
            router=self.send_call,
            scheduler=self.schedule,
            max_live_instances=share,
            suspend_after=self.suspend_after,
        )

    def _drop(self, shard: int, reason: str) -> None:
        host = self.hosts.pop(shard, None)
        if host is not None:
            log.info("%s: dropped shard %d (%s)", self.address, shard, reason)
            host.stop()

    def _beat_forever(self) -> None:
        interval = self.lease_seconds / 3
        while not self._stop.wait(interval):
            try:
                self.heartbeat()
            except Exception as error:  # the database unreachable: keep trying, but stop serving in time
                log.warning("%s: lease heartbeat failed: %r", self.address, error)
                if time.monotonic() - self._last_renewed > self.lease_seconds:
                    with self._lock:
                        for shard in sorted(self.hosts):
                            self._drop(shard, "leases not renewed in time")

    def held(self) -> dict[int, int]:
        """The shards this process serves now, with their epochs."""
        with self._lock:
            return {shard: host.epoch for shard, host in sorted(self.hosts.items())}

    # -- routing ------------------------------------------------------------------------------

    def shard(self, worker: WorkerId) -> int:
        return shard_of(worker, self.shards)

    def local(self, worker: WorkerId) -> ShardHost:
        """The host of the worker's shard here; NotOwner when this process does not hold it."""
        host = self.hosts.get(self.shard(worker))
        if host is None or host.stopped:
            raise NotOwner(f"{self.address} does not hold shard {self.shard(worker)} of {worker}")
        return host

    def route(
        self,
        worker: WorkerId,
        here: Callable[[ShardHost, float | None], T],
        there: Callable[[str, float], T],
        *,
        deadline: float | None,
    ) -> T:
        """Run ``here`` on the worker's host when this process holds its shard, else ``there`` on
        the owner's address; on a move, look the owner up again and resend, until ``deadline``
        seconds have passed (None: however long it takes). The time left is passed on."""
        until = None if deadline is None else time.monotonic() + deadline
        attempt = 0
        while True:
            left = None if until is None else max(0.0, until - time.monotonic())
            shard = self.shard(worker)
            host = self.hosts.get(shard)
            try:
                if host is not None and not host.stopped:
                    return here(host, left)
                lease = self.routes.get(shard)
                if lease is None or lease.expired or lease.owner == self.owner:
                    raise NotOwner(f"shard {shard} has no live owner yet")
                return there(lease.address, self.route_deadline if left is None else left)
            except MOVED as moved:
                if host is not None and not host.stopped and not isinstance(moved, Fenced):
                    raise  # an Interrupted from a host still serving: the process is stopping
                reason = moved
            attempt += 1
            if until is not None and time.monotonic() >= until:
                raise NoOwner(f"no process answered for {worker} within {deadline:g} s ({reason})")
            time.sleep(min(0.02 * attempt, 0.5))
            try:
                self.routes = self.leases.leases()
            except Exception as error:
                log.warning("%s: reading the leases failed: %r", self.address, error)

    def invoke(self, worker: WorkerId, function: str, args: list[Any], key: str, *, timeout: float | None) -> Any:
        """Invoke on the worker's owner; InvocationPending when no answer is back by ``timeout``."""

        def here(host: ShardHost, left: float | None) -> Any:
            try:
                return host.executor.invoke(
                    worker.template, worker.name, function, args, idempotency_key=key, timeout=left
                )
            except TimeoutError:
                raise InvocationPending(str(worker), key, timeout) from None

        def there(address: str, left: float) -> Any:
            body = {"worker": str(worker), "function": function, "args": args, "key": key, "timeout": left}
            return self.peers.request(address, "invoke", body, left + 5.0)["result"]

        return self.route(worker, here, there, deadline=timeout)

    def schedule(self, worker: WorkerId, function: str, args: list[Any], at_ms: int, key: str) -> None:
        """Durably schedule on the worker's owner (resent until accepted: a Scheduler for the hosts)."""

        def here(host: ShardHost, _left: float | None) -> None:
            host.executor.schedule(worker.template, worker.name, function, args, at_ms=at_ms, idempotency_key=key)

        def there(address: str, left: float) -> None:
            body = {"worker": str(worker), "function": function, "args": args, "at_ms": at_ms, "key": key}
            self.peers.request(address, "schedule", body, left)

        self.route(worker, here, there, deadline=None)

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        worker = promise_owner(promise_id)

        def here(host: ShardHost, _left: float | None) -> bool:
            return host.executor.complete_promise(promise_id, value)

        def there(address: str, left: float) -> bool:
            answer = self.peers.request(address, "complete-promise", {"promise_id": promise_id, "value": value}, left)
            return bool(answer["completed"])

        return self.route(worker, here, there, deadline=self.route_deadline)

    def send_call(self, call: WorkerCall) -> Future[Any]:
        """Deliver a worker-to-worker call exactly once (a Router for the hosts).

        A target held here is accepted at once through its host's LocalCalls (which refuses a
        call closing a cycle of waiting workers, raising CallCycle); otherwise, or when the
        target moves before answering, a thread resends it to the owner under the same key
        until a definite answer. Cycles through workers of other processes are not detected."""
        answer: Future[Any] = Future()
        first: Future[Any] | None = None
        host = self.hosts.get(self.shard(call.target))
        if host is not None and not host.stopped:
            first = host.executor.host.calls.send(call)  # CallCycle raised here, before delivery

        def deliver() -> None:
            try:
                if first is not None:
                    try:
                        answer.set_result(first.result())
                        return
                    except MOVED:
                        pass
                while True:
                    try:
                        result = self.invoke(
                            call.target, call.function, list(call.args), call.key, timeout=self.route_deadline
                        )
                        break
                    except (InvocationPending, NoOwner):
                        continue  # not answered yet, or no owner yet: the same key joins the first run
                answer.set_result(result)
            except BaseException as error:
                answer.set_exception(error)

        threading.Thread(target=deliver, name=f"call-{call.key}", daemon=True).start()
        return answer

    # -- stopping -----------------------------------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Stop cleanly: finish what runs (up to ``timeout``), then hand every shard over at once."""
        self._stop.set()
        if self._beats is not None:
            self._beats.join(timeout)
        with self._lock:
            hosts, self.hosts = self.hosts, {}
        for host in hosts.values():
            host.stopped = True
            host.executor.close(timeout)
        try:
            self.leases.leave()
        finally:
            self.leases.close()
            self.store.close()
