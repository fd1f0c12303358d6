"""Waiting on a real executor from a test: poll a condition, read a worker's status."""

from __future__ import annotations

import time
from collections.abc import Callable

from golemsim import Executor, WorkerStatus


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until ``predicate()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def worker_status(ex: Executor, worker: str) -> WorkerStatus:
    """The status ``workers()`` reports for one worker ("template/name")."""
    return next(w.status for w in ex.workers() if str(w.worker_id) == worker)
