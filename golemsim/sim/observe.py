"""Watching a run as it goes: the cluster tells its observers every trace event, every oplog
append the storage commits, and every step of an instance rebuild (the replay cursor).

Observers only look. They are called on the simulation's thread, between two steps of the
run, and must not change it: a run with observers has the same trace as a run without.
Views that redraw (golemsim.widgets) should note what changed and redraw at their own pace.

    class Printer:
        def on_event(self, event: SimEvent) -> None:
            if event.kind == "fault":
                print(f"{event.time:.1f}s", event.fields["what"])

    run_experiment(experiment, observers=[Printer()])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

APPENDED = "appended"
"""Entries of one worker committed by the storage: worker, first (index), kinds and entries (OplogEntry)."""
REPLAY = "replay"
"""A rebuild's progress: worker, node, index (replayed up to), end (where the replay ends)."""


@dataclass(frozen=True)
class SimEvent:
    """Something that happened at simulated second ``time``."""

    time: float
    kind: str
    """A trace event kind (fault, healed, node, acquire, recovered, client, ...), APPENDED or REPLAY."""
    fields: Mapping[str, Any]


@runtime_checkable
class Observer(Protocol):
    def on_event(self, event: SimEvent) -> None: ...


class Observers:
    """The observers of one cluster; telling them costs nothing when there are none. An observer
    may also have ``started(cluster)`` and ``finished(result)``: the runner tells them when a run
    starts and ends (golemsim.sim.runner.Starts and Finishes)."""

    def __init__(self) -> None:
        self._all: list[Observer] = []

    def add(self, observer: Observer) -> None:
        self._all.append(observer)

    def __bool__(self) -> bool:
        return bool(self._all)

    def tell(self, time: float, kind: str, fields: Mapping[str, Any]) -> None:
        if not self._all:
            return
        event = SimEvent(time, kind, fields)  # each call's fields are a fresh dict: no copy
        for observer in self._all:
            observer.on_event(event)

    def __iter__(self) -> Iterator[Observer]:
        return iter(self._all)
