"""Scheduled invocations waiting for their time: a queue, and a thread that fires them on time.

The queue itself is passive (``pop_due(now)``), so a simulation can drive it from its own
clock; ``TimerThread`` drives it from the environment's wall clock for real use.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from .ids import WorkerId

log = logging.getLogger("golemsim.timers")

Fire = Callable[[WorkerId, str], None]
"""Called when a scheduled invocation is due: ``(worker, idempotency_key)``."""


class TimerQueue:
    """Due times of scheduled invocations, earliest first; thread-safe."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, WorkerId, str]] = []
        self._order = itertools.count()  # ties fire in the order they were scheduled
        self.changed = threading.Condition()
        self.on_add: Callable[[int], None] | None = None
        """Told each new due time (a simulation arms its clock with it)."""

    def add(self, due_ms: int, worker: WorkerId, key: str) -> None:
        with self.changed:
            heapq.heappush(self._heap, (due_ms, next(self._order), worker, key))
            self.changed.notify_all()
        if self.on_add is not None:
            self.on_add(due_ms)

    def pop_due(self, now_ms: int) -> list[tuple[WorkerId, str]]:
        """Remove and return every entry due at ``now_ms``, earliest first."""
        due = []
        with self.changed:
            while self._heap and self._heap[0][0] <= now_ms:
                _, _, worker, key = heapq.heappop(self._heap)
                due.append((worker, key))
        return due

    def next_due(self) -> int | None:
        with self.changed:
            return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        with self.changed:
            return len(self._heap)


class TimerThread:
    """Fires a TimerQueue's entries when the clock reaches them, until stopped."""

    MAX_WAIT_S = 1.0
    """Re-read the clock at least this often (the wall clock may jump)."""

    def __init__(self, queue: TimerQueue, now_ms: Callable[[], int], fire: Fire) -> None:
        self.queue = queue
        self.now_ms = now_ms
        self.fire = fire
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="golemsim-timers", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with self.queue.changed:
                if self._stopped:
                    return
            for worker, key in self.queue.pop_due(self.now_ms()):
                try:
                    self.fire(worker, key)
                except Exception:  # one bad timer must not stop the others
                    log.exception("could not start scheduled invocation %s on %s", key, worker)
            with self.queue.changed:
                if self._stopped:
                    return
                due = self.queue.next_due()  # the condition's lock is reentrant
                wait = self.MAX_WAIT_S if due is None else (due - self.now_ms()) / 1000
                if wait > 0:
                    self.queue.changed.wait(min(wait, self.MAX_WAIT_S))

    def stop(self, timeout: float = 5.0) -> None:
        with self.queue.changed:
            self._stopped = True
            self.queue.changed.notify_all()
        self._thread.join(timeout)
