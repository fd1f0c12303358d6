"""Several `golemsim serve` processes over one real PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from golemsim.core.ids import WorkerId, shard_of

from .gateway_client import ServeProcess

SHARDS = 16


def owners(url: str) -> dict[int, str]:
    """Shard -> the address of the process holding its unexpired lease (as the database says)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT shard, address FROM shard_leases WHERE expires_at > now()").fetchall()
    return {int(shard): str(address) for shard, address in rows}


def wait_for_split(url: str, processes: list[ServeProcess], timeout: float = 60.0) -> dict[int, str]:
    """Wait until the processes hold every shard between them, in fair shares."""
    deadline = time.monotonic() + timeout
    while True:
        held = owners(url)
        counts = [sum(1 for address in held.values() if address == p.url) for p in processes]
        if len(held) == SHARDS and max(counts) - min(counts) <= 1:
            return held
        assert time.monotonic() < deadline, f"the shards were not split in {timeout} s: {counts}"
        time.sleep(0.1)


def owner_of(held: dict[int, str], template: str, name: str) -> str:
    return held[shard_of(WorkerId(template, name), SHARDS)]


def name_on(held: dict[int, str], template: str, address: str, prefix: str) -> str:
    """A worker name whose shard ``address`` holds."""
    return next(f"{prefix}{i}" for i in range(10_000) if owner_of(held, template, f"{prefix}{i}") == address)


@contextmanager
def serving(
    api: Path, url: str, count: int, log_dir: Path, *extra: str, **options: object
) -> Iterator[list[ServeProcess]]:
    """``count`` serve processes on ``url``, started one after the other, stopped (SIGTERM) after."""
    processes: list[ServeProcess] = []
    try:
        for _ in range(count):
            processes.append(
                ServeProcess(api, url, "--shards", str(SHARDS), *extra, log_dir=log_dir, **options)  # type: ignore[arg-type]
            )
        yield processes
    finally:
        for process in processes:
            if process.process.poll() is None:
                process.stop()
