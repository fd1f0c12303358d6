"""The virtual cluster as a whole: determinism, fencing, dedup switched off, the lambda baseline,
template updates under load, and the shop's invariants."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import failed, registry, run

from golemsim.core.ids import WorkerId
from golemsim.core.oplog.memory_store import MemoryOplogStore
from golemsim.gateway import load_api_definition
from golemsim.locations import templates_dir
from golemsim.sim.baton import Halted
from golemsim.sim.cluster import Cluster, ClusterSettings
from golemsim.sim.network import Partition
from golemsim.sim.node import Call

STORMY_COUNTERS = """
name: counters in a storm
app: counter
store: memory
cluster: {nodes: 3, shards: 6}
workload: {mode: open, rate: 60, operations: 200, keys: 20, distribution: zipf}
faults:
  - {at: 1.0, kind: crash, target: node-2, duration: 1}
  - {at: 1.5, kind: loss, rate: 0.1, duration: 2}
  - {at: 2.5, kind: partition, groups: [[node-3], [storage]], duration: 1.5}
"""


def test_the_same_seed_gives_the_same_trace_and_history() -> None:
    first = run(STORMY_COUNTERS, seed=11)
    second = run(STORMY_COUNTERS, seed=11)
    other = run(STORMY_COUNTERS, seed=12)
    assert first.valid and second.valid and other.valid, failed(first) + failed(second) + failed(other)
    assert first.trace_digest == second.trace_digest
    assert first.cluster.trace.lines == second.cluster.trace.lines
    assert [op.record() for op in first.history] == [op.record() for op in second.history]
    assert other.trace_digest != first.trace_digest


def test_a_partitioned_old_owner_cannot_append() -> None:
    """node-1 is cut off from the shard manager (not from the storage): it is declared dead,
    its shards get new epochs elsewhere, and the appends it still tries are refused."""
    reg = registry(("counter",))
    store = MemoryOplogStore()
    cluster = Cluster(
        5, ClusterSettings(nodes=2, shards=2), reg, store, load_api_definition(templates_dir() / "counter.api.yaml")
    )
    env = cluster.env
    worker = next(
        WorkerId("counter", f"c{i}") for i in range(100) if cluster.shard_of(WorkerId("counter", f"c{i}")) == 0
    )
    env.run(until=1.0)
    owner, epoch = cluster.shard_manager.owner(0) or ("", 0)
    stale = cluster.nodes[owner].hosts[0]

    def increment(executor: Any) -> Any:
        return executor.invoke("counter", worker.name, "increment", [1], idempotency_key=f"k-{env.now}")

    first = cluster.baton.call(stale.owner, "increment", lambda: increment(stale.executor))
    env.run(until=first)
    assert first.value == 1
    length = store.length(worker)

    cluster.network.partitions.append(Partition((owner,), ("shards", "gateway")))
    env.run(until=env.now + 4 * cluster.settings.heartbeat_timeout)
    new_owner, new_epoch = cluster.shard_manager.owner(0) or ("", 0)
    assert new_owner != owner and new_epoch > epoch
    assert owner in cluster.nodes and cluster.nodes[owner].hosts.get(0) is stale  # it never heard

    refused = cluster.baton.call(stale.owner, "stray increment", lambda: increment(stale.executor))
    env.run(until=env.now + 1.0)
    assert isinstance(refused.value, Halted) and "stale" in str(refused.value)
    assert cluster.storage.fenced >= 1
    assert store.length(worker) == length  # nothing the old owner tried reached the oplog
    assert 0 not in cluster.nodes[owner].hosts  # and it gave the shard up

    fresh = cluster.nodes[new_owner].hosts[0]
    after = cluster.baton.call(
        fresh.owner, "increment", lambda: cluster.router.call("test", worker, Call("i", increment))
    )
    env.run(until=after)
    assert after.value == 2  # the new owner recovered the worker from its oplog
    cluster.close()


CHECKOUTS = """
name: checkouts with {dedupe}
app: checkout
store: memory
seed: 4
cluster: {{nodes: 3, shards: 6}}
services: {{latency: 0.01, timeout_rate: 0.3, dedupe: {dedupe}}}
workload: {{mode: closed, clients: 4, operations: 30, keys: 10}}
"""


def test_switching_dedup_off_makes_the_checker_report_the_double_charge() -> None:
    """The services apply a request, then lose the answer (timeout_rate): the worker re-sends
    it with the same key. With dedup the repeat changes nothing; without, it charges again."""
    with_dedupe = run(CHECKOUTS.format(dedupe="true"), templates=("checkout",))
    assert with_dedupe.valid, failed(with_dedupe)
    without = run(CHECKOUTS.format(dedupe="false"), templates=("checkout",))
    effects = next(v for v in without.verdicts if v.name.startswith("effects"))
    assert not effects.valid
    assert any(e["service"] == "payment" and e["applied"] >= 2 for e in effects.counterexamples) or any(
        "charged" in str(v.counterexamples) for v in without.verdicts if not v.valid
    )
    orders = next(v for v in without.verdicts if v.name == "orders-whole-or-undone")
    assert not orders.valid


CRASH_MID_CHECKOUT = """
name: a crash mid-checkout
app: checkout
store: memory
seed: 2
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05}
workload: {mode: open, rate: 30, operations: 120, keys: 50, retries: 0}
faults:
  - {at: 1.03, kind: crash, target: node-1, duration: 2}
  - {at: 2.51, kind: crash, target: node-2, duration: 2}
  - {at: 3.07, kind: crash, target: node-3, duration: 2}
"""


@pytest.mark.slow
def test_the_lambda_baseline_is_inconsistent_where_the_workers_are_valid() -> None:
    workers = run(CRASH_MID_CHECKOUT, templates=("checkout",))
    assert workers.valid, failed(workers)
    assert workers.summary["counters"]["crashes"] == 3
    resumed = [r for r in workers.cluster.metrics.recoveries if r.mode == "resume"]
    assert resumed and all(r.entries > 0 and r.seconds > 0 for r in resumed)  # checkouts picked up mid-way
    lambdas = run(CRASH_MID_CHECKOUT, templates=("checkout",), variant="lambda")
    assert lambdas.summary["counters"].get("functions_lost_in_crash", 0) >= 1
    orders = next(v for v in lambdas.verdicts if v.name == "orders-whole-or-undone")
    assert not orders.valid
    problems = {e["problem"] for e in orders.counterexamples}
    assert problems & {"charged but never shipped", "reserved and never released (not charged)"}


UPDATE = """
name: counters updated under load
app: counter
store: memory
cluster: {{nodes: 2, shards: 4}}
workload: {{mode: closed, clients: 4, operations: 160, keys: 8}}
faults:
  - {{at: 1.0, kind: template-update, target: counter, source: {source}, mode: auto}}
"""


def test_an_automatic_template_update_under_load() -> None:
    result = run(UPDATE.format(source="templates/counter-v2"), shared=False)
    assert result.valid, failed(result)
    outcomes = result.summary["template_updates"]
    assert outcomes and all(o["ok"] and o["version"] == 2 for o in outcomes)


def test_a_diverging_update_fails_and_the_worker_stays_on_its_version(tmp_path: Path) -> None:
    diverging = tmp_path / "counter-diverging"
    diverging.mkdir()
    for name in ("golemsim.toml", "wit"):
        source = templates_dir() / "counter-v2" / name
        target = diverging / name
        if source.is_dir():
            target.mkdir()
            for f in source.iterdir():
                (target / f.name).write_text(f.read_text())
        else:
            target.write_text(source.read_text())
    code = (templates_dir() / "counter-v2" / "app.py").read_text()
    (diverging / "app.py").write_text(
        code.replace(
            "WitWorld.total += by\n", "WitWorld.total += by\n        golem.now_ms()  # a host call v1 never made\n"
        )
    )
    result = run(UPDATE.format(source=diverging), shared=False)
    assert result.valid, failed(result)
    outcomes = result.summary["template_updates"]
    assert outcomes and not any(o["ok"] for o in outcomes)
    assert all("diverge" in (o["reason"] or "").lower() for o in outcomes), outcomes


def test_shop_invariants_hold_for_carts_and_auctions_under_crashes() -> None:
    carts = run(
        """
        name: carts merge under crashes
        app: shopping-cart
        store: memory
        cluster: {nodes: 3, shards: 6}
        workload: {mode: closed, clients: 6, operations: 150, keys: 8}
        faults:
          - {at: 1.0, kind: crash, target: node-1, duration: 1}
          - {at: 2.0, kind: crash, target: node-3, duration: 1}
        """,
        templates=("shopping-cart", "checkout"),
    )
    assert carts.valid, failed(carts)
    conserved = next(v for v in carts.verdicts if v.name == "merged-carts-hold-the-sum")
    assert conserved.checked >= 8
    assert any(op.op.name == "merge" and op.outcome == "ok" for op in carts.history)

    auctions = run(
        """
        name: auctions close themselves under crashes
        app: auction
        store: memory
        cluster: {nodes: 3, shards: 6}
        workload: {mode: closed, clients: 6, operations: 100, keys: 4}
        faults:
          - {at: 1.0, kind: crash, target: node-2, duration: 1}
        """,
        templates=("auction",),
    )
    assert auctions.valid, failed(auctions)
    closed = [s for s in auctions.final_states.values() if isinstance(s, dict) and s.get("state") == "closed"]
    assert len(closed) == 4 and all(s["winner"] for s in closed)  # each closed by its own durable timer


def test_a_snapshot_based_template_update_under_load(tmp_path: Path) -> None:
    """Version 2 of the cart (here: the same code, rebuilt with a changed comment) takes over
    each cart's state from a snapshot saved by version 1, while clients keep adding items."""
    source = templates_dir() / "shopping-cart"
    copy = tmp_path / "shopping-cart-v2"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    app = copy / "app.py"
    app.write_text(app.read_text() + "\n# version 2: the same cart, to move carts by snapshot\n")
    result = run(
        f"""
        name: carts updated by snapshot
        app: shopping-cart
        store: memory
        cluster: {{nodes: 2, shards: 4}}
        workload: {{mode: closed, clients: 4, operations: 120, keys: 6}}
        faults:
          - {{at: 1.0, kind: template-update, target: shopping-cart, source: {copy}, mode: snapshot}}
        """,
        templates=("shopping-cart", "checkout"),
        shared=False,
    )
    assert result.valid, failed(result)
    outcomes = result.summary["template_updates"]
    assert outcomes and all(o["ok"] and o["mode"] == "snapshot" for o in outcomes), outcomes


def test_shards_spread_evenly_at_start_and_again_after_a_crashed_node_rejoins() -> None:
    result = run(
        """
        name: balance
        app: counter
        store: memory
        cluster: {nodes: 4, shards: 12}
        workload: {mode: open, rate: 50, operations: 150, keys: 20}
        faults:
          - {at: 1.0, kind: crash, target: node-3, duration: 4}
        """,
        seed=4,
    )
    assert result.valid, failed(result)
    manager = result.cluster.shard_manager
    assert {node: len(manager.shards_of(node)) for node in result.cluster.nodes} == {
        "node-1": 3,
        "node-2": 3,
        "node-3": 3,
        "node-4": 3,
    }
    lines = [json.loads(line) for line in result.cluster.trace.lines]
    dead_at = next(t for t, kind, fields in lines if kind == "dead" and fields["node"] == "node-3")
    moved_back = [f["shard"] for t, kind, f in lines if kind == "assign" and f["node"] == "node-3" and t > dead_at]
    assert len(moved_back) == 3, "node-3 got its share back after it rejoined"
