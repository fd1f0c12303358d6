"""Policies the caller or template sets: resource limits and retries."""

from __future__ import annotations

import dataclasses
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
