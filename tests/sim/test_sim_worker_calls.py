"""Worker-to-worker calls in the simulated cluster: the bank under a busy target, a long
partition, node crashes and accounts paying each other at once. Every run conserves the money,
every caller's answer agrees with its target, no key runs twice and nothing is left stuck.

Real bank components in wasmtime inside the SimPy cluster (tests/support/sim_runs.py).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from support import failed, run

from golemsim.sim.runner import RunResult

BUSY_TARGET = """
name: one busy node, a short gateway deadline
app: bank
store: memory
cluster: {nodes: 1, shards: 2, cpu_seconds_per_invocation: 0.1, request_timeout: 0.3, call_deadline: 0.2}
workload: {mode: closed, clients: 8, operations: 120, keys: 6}
"""
"""Slow invocations queue up on one node: calls wait long, gateway requests answer 504 pending."""

LONG_PARTITION = """
name: two nodes cut apart for longer than the gateway deadline
app: bank
store: memory
cluster: {nodes: 2, shards: 4}
workload: {mode: closed, clients: 4, think: 0.05, operations: 100, keys: 6}
faults:
  - {at: 0.5, kind: partition, groups: [[node-1], [node-2]], duration: 65}
"""

CRASHES = """
name: accounts while nodes crash
app: bank
store: memory
cluster: {nodes: 3, shards: 6, max_live_per_node: 4}
workload: {mode: closed, clients: 6, think: 0.01, operations: 150, keys: 8}
faults:
  - {at: 0.4, kind: crash, target: node-1, duration: 1}
  - {at: 1.2, kind: crash, target: node-2, duration: 0.5}
"""

BOTH_WAYS = """
name: two accounts paying each other at once
app: bank
store: memory
cluster: {nodes: 2, shards: 2}
workload: {mode: closed, clients: 6, operations: 80, keys: 2}
"""

RUNS = {"busy-target": BUSY_TARGET, "long-partition": LONG_PARTITION, "crashes": CRASHES, "both-ways": BOTH_WAYS}


@functools.cache
def bank_run(name: str) -> RunResult:
    """The named run, once per test session."""
    return run(RUNS[name], seed=7, templates=("bank",))


def verdict(result: RunResult, name: str) -> str:
    (found,) = [v for v in result.verdicts if v.name == name]
    assert found.valid, found.counterexamples[:3]
    return found.note


def cycles(result: RunResult) -> list[list[Any]]:
    """The call-cycle refusals the run's trace recorded."""
    events = [json.loads(line) for line in result.cluster.trace.lines]
    return [event for event in events if event[1] == "call-cycle"]


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_checker_holds(name: str) -> None:
    result = bank_run(name)
    assert result.valid, failed(result)
    assert "deposited" in verdict(result, "bank-conserves-money")
    assert verdict(result, "no-invocation-stuck").startswith("explained")
    calls = verdict(result, "worker-calls-agree-with-targets")
    assert "0 unavailable" in calls  # no call gives up: each is answered, or refused for sure


def test_a_busy_target_makes_the_gateway_answer_pending_never_refused() -> None:
    result = bank_run("busy-target")
    assert result.cluster.metrics.counters.get("pending_answers", 0) > 0  # 504 "pending": asked again, same key
    # Done, refused for sure, or still pending when the client stopped asking; never a 500.
    assert {op.status for op in result.history} <= {200, 409, 504}
    refunds = sum(state["refunds"] for state in result.final_states.values())
    assert refunds == len(cycles(result))  # every refund is a refused cycle, never a call that ran


def test_accounts_paying_each_other_refuse_the_call_that_closes_the_cycle() -> None:
    result = bank_run("both-ways")
    refused = cycles(result)
    assert refused, "the workload should make a -> b meet b -> a"
    refunds = sum(state["refunds"] for state in result.final_states.values())
    assert refunds == len(refused)


def test_a_run_with_calls_and_cycles_repeats_byte_for_byte() -> None:
    first = run(BOTH_WAYS, seed=11, templates=("bank",))
    second = run(BOTH_WAYS, seed=11, templates=("bank",))
    assert first.trace_digest == second.trace_digest
