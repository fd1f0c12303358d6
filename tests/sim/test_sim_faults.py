"""The virtual cluster under each kind of fault: real counters in wasmtime, every checker valid,
and the fault visibly did something."""

from __future__ import annotations

import pytest
from support import failed, run

COUNTERS = """
name: counters under {kind}
app: counter
seed: 3
store: memory
cluster: {{nodes: 3, shards: 6}}
workload: {{mode: closed, clients: 6, think: 0.05, operations: 150, keys: 12}}
faults:
  - {fault}
"""

FAULTS = {
    "crash": "{at: 1.5, kind: crash, target: node-1, duration: 2}",
    "partition": "{at: 1.5, kind: partition, groups: [[node-2], [storage, shards]], duration: 4}",
    "loss": "{at: 1.0, kind: loss, rate: 0.2, duration: 3}",
    "slow-storage": "{at: 1.0, kind: slow-storage, factor: 50, duration: 2}",
    "storage-down": "{at: 1.0, kind: storage-down, duration: 1.5}",
    "upgrade-drain": "{at: 1.0, kind: upgrade, mode: drain, duration: 0.5}",
    "upgrade-hard": "{at: 1.0, kind: upgrade, mode: hard, duration: 0.5}",
}


def _effect_seen(kind: str, summary: dict, trace: list[str]) -> bool:
    counters = summary["counters"]
    if kind == "crash":
        return counters.get("crashes") == 1 and counters.get("nodes_declared_dead") == 1
    if kind == "partition":  # node-2 was declared dead and its shards moved: its old leases are fenced
        return counters.get("nodes_declared_dead", 0) >= 1 and any('"assign"' in line for line in trace[20:])
    if kind == "loss":
        return summary["network"]["dropped"] > 0 and counters.get("retries", 0) > 0
    if kind == "slow-storage":  # 50x slower commits: a few hundred ms instead of a few ms
        return summary["latency_s"]["max"] > 0.3
    if kind == "storage-down":  # requests wait for the storage to come back
        return summary["latency_s"]["max"] > 1.0
    if kind == "upgrade-drain":
        return sum('"draining"' in line for line in trace) == 3 and not counters.get("fenced_writes")
    return sum('"crashed"' in line for line in trace) == 3


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_every_checker_is_valid_under_each_fault(kind: str) -> None:
    result = run(COUNTERS.format(kind=kind, fault=FAULTS[kind]))
    assert result.valid, failed(result)
    assert result.summary["acknowledged"] == 150
    assert _effect_seen(kind, result.summary, result.cluster.trace.lines), result.summary


def test_random_faults_drawn_from_the_seed() -> None:
    text = COUNTERS.format(kind="random faults", fault="{at: 0.5, kind: loss, rate: 0.05, duration: 1}")
    text += "random_faults: {rates: {crash: 60, partition: 60, slow-storage: 60}, start: 1, end: 6, mean_duration: 1}\n"
    result = run(text)
    assert result.valid, failed(result)
    kinds = {f.kind for f in result.faults}
    assert {"crash", "partition", "slow-storage"} <= kinds
