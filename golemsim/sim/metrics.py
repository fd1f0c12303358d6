"""What a run measures: invocation latencies, throughput over time, recoveries, queues,
node states and fault windows. Plain lists of tuples, cheap to append and to plot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Recovery:
    at: float
    """When the rebuild finished (simulated seconds)."""
    worker: str
    node: str
    mode: str
    """snapshot or full (an instance rebuilt), or resume (an interrupted invocation's replay got back
    to where it stopped; its seconds count from when it was picked up, the rebuild before it included)."""
    invocations: int
    entries: int
    seconds: float


@dataclass(frozen=True)
class FaultWindow:
    kind: str
    target: str
    start: float
    end: float | None


@dataclass
class Metrics:
    counters: dict[str, int] = field(default_factory=dict)
    latencies: list[tuple[float, float, str]] = field(default_factory=list)
    """(completed at, latency in seconds, outcome) per client operation."""
    recoveries: list[Recovery] = field(default_factory=list)
    queues: list[tuple[float, str, int]] = field(default_factory=list)
    """(time, node, invocations queued or running)."""
    node_states: list[tuple[float, str, str]] = field(default_factory=list)
    faults: list[FaultWindow] = field(default_factory=list)

    def count(self, name: str, by: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + by

    def node_state(self, at: float, node: str, state: str) -> None:
        self.node_states.append((at, node, state))

    def fault(self, kind: str, target: str, start: float, end: float | None) -> None:
        self.faults.append(FaultWindow(kind, target, start, end))

    def summary(self, duration: float) -> dict[str, Any]:
        ok = sorted(lat for _, lat, outcome in self.latencies if outcome == "ok")
        recovered = [r for r in self.recoveries if r.invocations or r.entries]
        return {
            "operations": len(self.latencies),
            "acknowledged": len(ok),
            "outcomes": dict(sorted(Counter(outcome for _, _, outcome in self.latencies).items())),
            "throughput_per_s": round(len(ok) / duration, 3) if duration > 0 else 0.0,
            "latency_s": {
                "p50": _percentile(ok, 0.50),
                "p99": _percentile(ok, 0.99),
                "max": round(ok[-1], 6) if ok else None,
            },
            "recoveries": len(recovered),
            "recovery_s": {
                "p50": _percentile(sorted(r.seconds for r in recovered), 0.50),
                "max": round(max((r.seconds for r in recovered), default=0.0), 6),
            },
            "replayed_entries": sum(r.entries for r in recovered),
            "counters": dict(sorted(self.counters.items())),
        }


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 6)
