"""The snapshot-kit template: a counter with a cart, notes and ballast, saved by golem.Snapshots."""

import hashlib
import json
import random
import time
from dataclasses import dataclass

import golemsim_guest as golem
import wit_world
from componentize_py_types import Err


@dataclass
class Note:
    text: str
    revision: int


def _refuse(reason: str) -> None:
    raise ValueError(reason)


class FailsOnLoad:
    """Pickles fine; unpickling it raises."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (_refuse, ("poisoned on purpose",))


class ReadsClockOnLoad:
    """Unpickling it reads the wall clock: a host call while loading."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (time.time_ns, ())


class ReadsClockOnSave:
    """Pickling it reads the wall clock: a host call while saving."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (str, (str(time.time_ns()),))


POISONS = {"load-error": FailsOnLoad, "load-host-call": ReadsClockOnLoad, "save-host-call": ReadsClockOnSave}

total = 0
lines: list[wit_world.Line] = []
notes: dict[str, Note] = {}
ballast: list[bytes] = []
hazard: object = None


class WitWorld(golem.Snapshots, wit_world.WitWorld):
    snapshot_state = ("total", "lines", "notes", "ballast", "hazard")

    def add(self, by: int) -> int:
        global total
        total += by
        return total

    def put_line(self, sku: str, quantity: int) -> int:
        lines.append(wit_world.Line(sku=sku, quantity=quantity))
        return len(lines)

    def annotate(self, sku: str, text: str) -> int:
        previous = notes.get(sku)
        notes[sku] = Note(text, previous.revision + 1 if previous else 1)
        return len(notes)

    def grow(self, kilobytes: int) -> int:
        for _ in range(kilobytes):
            ballast.append(bytes([len(ballast) % 251]) * 1024)
        return sum(map(len, ballast))

    def roll(self) -> int:
        return random.getrandbits(64)

    def summary(self) -> str:
        digest = hashlib.sha256(b"".join(ballast)).hexdigest()
        return json.dumps(
            {
                "total": total,
                "lines": [[line.sku, line.quantity] for line in lines],
                "notes": {sku: [note.text, note.revision] for sku, note in notes.items()},
                "ballast": [sum(map(len, ballast)), digest],
                "hazard": type(hazard).__name__,
            },
            sort_keys=True,
        )

    def poison(self, how: str) -> None:
        global hazard
        if how not in POISONS:
            raise Err(f"unknown poison {how!r}; one of {', '.join(POISONS)}")
        hazard = POISONS[how]()
