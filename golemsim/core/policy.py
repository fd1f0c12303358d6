"""Policies the caller or template sets: resource limits and retries."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .errors import BadRequest

MIB = 1024 * 1024


@dataclass(frozen=True)
class ResourceLimits:
    """Per-worker limits.

    ``memory_bytes`` caps the guest's linear memory (a memory bomb becomes a failed invocation);
    ``fuel_per_invocation`` caps deterministic guest work; ``timeout_seconds`` caps guest time
    between two host calls in wall time (None: no wall-clock limit, as in the simulation).
    """

    memory_bytes: int = 256 * MIB
    fuel_per_invocation: int = 20_000_000_000
    timeout_seconds: float | None = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient failures of external calls."""

    max_attempts: int = 5
    initial_delay: float = 0.05
    multiplier: float = 2.0
    max_delay: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("a retry policy needs at least one attempt")
        for name in ("initial_delay", "max_delay", "multiplier"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number of at least 0, got {value}")

    @classmethod
    def from_dict(cls, table: dict[str, object], where: str) -> RetryPolicy:
        """Read a policy from a TOML/JSON table, naming ``where`` in errors."""
        known = {"max_attempts": int, "initial_delay": float, "multiplier": float, "max_delay": float}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise BadRequest(f"{where}: unknown retry setting(s) {unknown}; known: {sorted(known)}")
        try:
            values = {k: known[k](v) for k, v in table.items()}
            return cls(**values)
        except (TypeError, ValueError) as error:
            raise BadRequest(f"{where}: {error}") from None

    def to_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1))


COMPACTION_MODES = ("archive", "drop", "keep")


@dataclass(frozen=True)
class SnapshotPolicy:
    """When to snapshot a worker (after an invocation, when idle), and what becomes of the
    entries a snapshot covers: moved to the archive table, dropped, or kept in the hot oplog.

    A snapshot is due after ``every_invocations`` completed invocations, or once the hot oplog
    holds more than ``max_oplog_entries`` entries, whichever comes first.
    """

    every_invocations: int | None = None
    max_oplog_entries: int | None = None
    compaction: str = "archive"

    def __post_init__(self) -> None:
        if self.every_invocations is None and self.max_oplog_entries is None:
            raise ValueError("a snapshot policy needs every_invocations or max_oplog_entries")
        for name in ("every_invocations", "max_oplog_entries"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.compaction not in COMPACTION_MODES:
            raise ValueError(f"compaction must be one of {COMPACTION_MODES}, got {self.compaction!r}")

    def due(self, invocations_since: int, hot_entries: int) -> bool:
        if self.every_invocations is not None and invocations_since >= self.every_invocations:
            return True
        return self.max_oplog_entries is not None and hot_entries > self.max_oplog_entries

    @classmethod
    def from_dict(cls, table: dict[str, object], where: str) -> SnapshotPolicy:
        """Read a policy from a TOML/JSON table, naming ``where`` in errors."""
        known = {"every_invocations": int, "max_oplog_entries": int, "compaction": str}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise BadRequest(f"{where}: unknown snapshot setting(s) {unknown}; known: {sorted(known)}")
        try:
            return cls(**{k: known[k](v) for k, v in table.items()})
        except (TypeError, ValueError) as error:
            raise BadRequest(f"{where}: {error}") from None

    def to_dict(self) -> dict[str, object]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
