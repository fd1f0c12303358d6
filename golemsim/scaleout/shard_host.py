"""One shard held by this process: an Executor over the oplog store fenced with the shard's epoch."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..core.environment import RealEnvironment, Router, Scheduler
from ..core.executor import Executor
from ..core.ids import shard_of
from ..core.services import ServiceRegistry
from ..core.templates import TemplateRegistry

if TYPE_CHECKING:
    from ..core.oplog.postgres_store import PostgresOplogStore

log = logging.getLogger("golemsim.scaleout")


class ShardHost:
    """Runs the workers of one shard at one lease epoch; stopped for good when the lease is lost.

    Its writes carry the epoch (the store refuses them once another process holds the shard),
    and its worker-to-worker calls and schedules go through the process's router, which finds
    each target's owner, here or in another process."""

    def __init__(
        self,
        store: PostgresOplogStore,
        templates: TemplateRegistry,
        services: ServiceRegistry,
        *,
        shard: int,
        shards: int,
        epoch: int,
        router: Router,
        scheduler: Scheduler,
        max_live_instances: int,
        suspend_after: float,
    ) -> None:
        self.shard = shard
        self.epoch = epoch
        self.stopped = False
        fenced = store.fenced(shard, epoch, lambda worker: shard_of(worker, shards))
        environment = RealEnvironment(services, router=router, scheduler=scheduler)
        self.executor = Executor(
            fenced,
            templates,
            environment=environment,
            max_live_instances=max_live_instances,
            suspend_after=suspend_after,
        )

    def start(self) -> None:
        """Resume the shard's unfinished invocations (on a thread: replay may take a while)."""

        def resume() -> None:
            try:
                resumed = self.executor.resume_all()
                if resumed:
                    log.info("shard %d @%d: resumed %d worker(s)", self.shard, self.epoch, resumed)
            except Exception as error:  # a lost lease meanwhile (Fenced), or a failing worker: logged
                if not self.stopped:
                    log.warning("shard %d @%d: resuming failed: %r", self.shard, self.epoch, error)

        threading.Thread(target=resume, name=f"resume-shard-{self.shard}", daemon=True).start()

    def stop(self) -> None:
        """Stop at once, as a crash would: nothing more runs here; queued callers hear Interrupted
        and are sent on to the shard's next owner, which resumes what was unfinished."""
        if self.stopped:
            return
        self.stopped = True
        host = self.executor.host
        host.halt()
        for slot in host.table.slots():
            with slot.lock:
                host.release_queue(slot)
