"""The event trace of a run and its hash: the same seed and plan give the same bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

Listener = Callable[[float, str, dict[str, Any]], None]


class Trace:
    """An append-only list of (time, kind, fields) events, hashed as they come."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self.lines: list[str] = []
        self.count = 0
        self._hash = hashlib.sha256()
        self.listener: Listener | None = None
        """Told every event after it is recorded (the cluster's observers)."""

    def record(self, now: float, event: str, **fields: Any) -> None:
        line = json.dumps([round(now, 6), event, fields], sort_keys=True, separators=(",", ":"), default=str)
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.count += 1
        if self.keep:
            self.lines.append(line)
        if self.listener is not None:
            self.listener(now, event, fields)

    @property
    def digest(self) -> str:
        """sha256 of every event line so far (hex)."""
        return self._hash.hexdigest()

    def write(self, path: Path) -> None:
        with path.open("w") as out:
            for line in self.lines:
                out.write(line + "\n")
