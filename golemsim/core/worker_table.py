"""The executor's table of workers: one slot per worker touched, and which hold a live instance."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from .ids import WorkerId
from .worker_slot import WorkerSlot


class WorkerTable:
    """Slots by worker id, made on first touch, and the workers with a live instance in
    least-recently-used order (so that the oldest idle ones can be suspended)."""

    def __init__(self, new_slot: Callable[[WorkerId], WorkerSlot]) -> None:
        self._new_slot = new_slot
        self._slots: dict[WorkerId, WorkerSlot] = {}
        self._slots_lock = threading.Lock()
        self._live: OrderedDict[WorkerId, WorkerSlot] = OrderedDict()
        self._live_lock = threading.Lock()

    def slot(self, worker_id: WorkerId) -> WorkerSlot:
        """The worker's slot, made (empty, not loaded) if it has none yet."""
        with self._slots_lock:
            slot = self._slots.get(worker_id)
            if slot is None:
                slot = self._slots[worker_id] = self._new_slot(worker_id)
            return slot

    def find(self, worker_id: WorkerId) -> WorkerSlot | None:
        """The worker's slot if it has one (no lock taken: a read of one dict entry)."""
        return self._slots.get(worker_id)

    def slots(self) -> list[WorkerSlot]:
        """Every slot, in the order they were made."""
        with self._slots_lock:
            return list(self._slots.values())

    def forget(self, worker_id: WorkerId) -> None:
        """Drop a deleted worker's slot."""
        with self._slots_lock:
            self._slots.pop(worker_id, None)
        with self._live_lock:
            self._live.pop(worker_id, None)

    def touch(self, slot: WorkerSlot) -> None:
        """The worker holds a live instance and was just used."""
        with self._live_lock:
            self._live[slot.worker_id] = slot
            self._live.move_to_end(slot.worker_id)

    def evict_one(self, current: WorkerSlot, limit: int) -> WorkerSlot | None:
        """While more than ``limit`` workers are live: take the least recently used idle one
        (never ``current``) off the live list and return it for suspension; else None."""
        with self._live_lock:
            if len(self._live) <= limit:
                return None
            victim = next((s for s in self._live.values() if s is not current and not s.draining), None)
            if victim is not None:
                del self._live[victim.worker_id]
            return victim

    def live_count(self) -> int:
        """How many workers hold a live instance now."""
        with self._live_lock:
            return sum(1 for slot in self._live.values() if slot.instance is not None)

    def take_live(self) -> list[WorkerSlot]:
        """Empty the live list and return what was on it (on close or halt)."""
        with self._live_lock:
            live = list(self._live.values())
            self._live.clear()
            return live
