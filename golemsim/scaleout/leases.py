"""Shard leases in the shared PostgreSQL database: membership, heartbeats, takeover, release.

Each executor process is a *member* (owner id, HTTP address). On every heartbeat, in one
transaction, it renews its membership and its unexpired leases, reads every member and lease,
plans its fair share (lease_plan.plan_round) and takes free or expired shards, each with the
shard's epoch plus one. Expiry is judged by the database's clock only (``now()``), so the
processes' clocks never need to agree. The epoch is the fence: every oplog write of a shard
checks it in its own transaction (PostgresOplogStore.fenced), so an old owner that was paused or
cut off past its lease cannot write once another process holds the shard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..core.errors import BadRequest, DatabaseLocked
from ..core.executor import Executor
from ..core.oplog.postgres_store import LEASES_SCHEMA
from ..core.postgres import connect, redacted
from .lease_plan import Lease, LeasePlan, plan_round

log = logging.getLogger("golemsim.scaleout")

DEFAULT_SHARDS = 16

MEMBERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS executor_members (
    owner      TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

TAKE = """
INSERT INTO shard_leases AS lease (shard, owner, address, epoch, expires_at)
VALUES (%(shard)s, %(owner)s, %(address)s, 1, now() + make_interval(secs => %(seconds)s))
ON CONFLICT (shard) DO UPDATE
    SET owner = EXCLUDED.owner, address = EXCLUDED.address, epoch = lease.epoch + 1, expires_at = EXCLUDED.expires_at
    WHERE lease.expires_at <= now()
RETURNING epoch
"""


@dataclass(frozen=True)
class Round:
    """What one heartbeat found and did."""

    held: dict[int, int]
    """Every shard this process holds after the round, with its epoch."""
    leases: dict[int, Lease]
    """Every lease row after the round (for routing)."""
    members: list[str]
    plan: LeasePlan


class ShardLeases:
    """The lease protocol of one executor process over one database (its own connection)."""

    def __init__(self, url: str, owner: str, address: str, *, lease_seconds: float = 5.0) -> None:
        if lease_seconds <= 0:
            raise BadRequest("the lease time must be positive")
        self.owner = owner
        self.address = address
        self.lease_seconds = lease_seconds
        self._conn = connect(url)
        self._lock = threading.Lock()
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(7341)")  # one schema creator at a time
            self._conn.execute(LEASES_SCHEMA)
            self._conn.execute(MEMBERS_SCHEMA)
        # Shared among the serve processes, for this connection's life: a lone executor
        # (Executor.open, which takes it exclusively) and the serve processes exclude each other.
        row = self._conn.execute("SELECT pg_try_advisory_lock_shared(%s)", (Executor.EXECUTOR_LOCK,)).fetchone()
        if not (row and row[0]):
            self._conn.close()
            raise DatabaseLocked(
                f"{redacted(url)} is open by a lone executor (Executor.open or a golemsim command that writes); "
                "stop it before starting serve processes"
            )

    def shard_count(self, wanted: int | None) -> int:
        """The database's shard count: set by the first process (``wanted`` or the default), fixed after.

        BadRequest when ``wanted`` differs from the count already set (workers would move shard)."""
        with self._lock, self._conn.transaction():
            self._conn.execute(
                "INSERT INTO cluster_settings (name, value) VALUES ('shards', %s) ON CONFLICT (name) DO NOTHING",
                (str(wanted or DEFAULT_SHARDS),),
            )
            row = self._conn.execute("SELECT value FROM cluster_settings WHERE name = 'shards'").fetchone()
        count = int(row[0]) if row else DEFAULT_SHARDS
        if wanted is not None and wanted != count:
            raise BadRequest(f"this database is split into {count} shards; --shards {wanted} would move every worker")
        return count

    def heartbeat(self, shards: int) -> Round:
        """Renew, read, plan and take, in one transaction; the caller gives up ``plan.give_up`` itself."""
        seconds = {"owner": self.owner, "address": self.address, "seconds": self.lease_seconds}
        with self._lock, self._conn.transaction():
            conn = self._conn
            conn.execute(
                "INSERT INTO executor_members (owner, address, expires_at)"
                " VALUES (%(owner)s, %(address)s, now() + make_interval(secs => %(seconds)s))"
                " ON CONFLICT (owner) DO UPDATE SET address = EXCLUDED.address, expires_at = EXCLUDED.expires_at",
                seconds,
            )
            conn.execute(
                "UPDATE shard_leases SET expires_at = now() + make_interval(secs => %(seconds)s)"
                " WHERE owner = %(owner)s AND expires_at > now()",
                seconds,
            )
            members = [row[0] for row in conn.execute("SELECT owner FROM executor_members WHERE expires_at > now()")]
            leases = self._read_leases(conn)
            plan = plan_round(shards, self.owner, members, leases)
            for shard in plan.take:
                row = conn.execute(TAKE, {**seconds, "shard": shard}).fetchone()
                if row is not None:
                    leases[shard] = Lease(shard, self.owner, self.address, int(row[0]), expired=False)
        held = {
            s: lease.epoch for s, lease in sorted(leases.items()) if lease.owner == self.owner and not lease.expired
        }
        return Round(held, leases, sorted(members), plan)

    @staticmethod
    def _read_leases(conn: Any) -> dict[int, Lease]:
        rows = conn.execute(
            "SELECT shard, owner, address, epoch, expires_at <= now() FROM shard_leases ORDER BY shard"
        ).fetchall()
        return {
            int(s): Lease(int(s), owner, address, int(epoch), bool(expired))
            for s, owner, address, epoch, expired in rows
        }

    def leases(self) -> dict[int, Lease]:
        """Every lease row now (for routing after a miss)."""
        with self._lock, self._conn.transaction():
            return self._read_leases(self._conn)

    def release(self, shards: list[int]) -> None:
        """Let these shards' leases expire now, so another process takes them on its next heartbeat."""
        if not shards:
            return
        with self._lock:
            self._conn.execute(
                "UPDATE shard_leases SET expires_at = now() - interval '1 millisecond'"
                " WHERE owner = %s AND shard = ANY(%s)",
                (self.owner, list(shards)),
            )

    def leave(self) -> None:
        """Release every lease and the membership (a clean stop: others take over at once)."""
        with self._lock, self._conn.transaction():
            self._conn.execute(
                "UPDATE shard_leases SET expires_at = now() - interval '1 millisecond' WHERE owner = %s", (self.owner,)
            )
            self._conn.execute("DELETE FROM executor_members WHERE owner = %s", (self.owner,))

    @contextmanager
    def deploy_lock(self) -> Iterator[None]:
        """Held by one process at a time across the cluster (a session advisory lock), for deploying."""
        with self._lock:
            self._conn.execute("SELECT pg_advisory_lock(7342)")
            try:
                yield
            finally:
                self._conn.execute("SELECT pg_advisory_unlock(7342)")

    def close(self) -> None:
        """Close the session, releasing its shared executor lock first (the server would only
        notice a closed session a moment later)."""
        try:
            self._conn.execute("SELECT pg_advisory_unlock_all()")
        except Exception:  # a broken session: closing it (or its end) releases the lock anyway
            pass
        finally:
            self._conn.close()
