"""Helpers for simulation tests: run a small experiment written inline."""

from __future__ import annotations

import textwrap
from pathlib import Path

from golemsim.core.templates import TemplateRegistry
from golemsim.sim.experiment import Experiment, parse_experiment
from golemsim.sim.runner import RunResult, run_experiment, templates_for

TINY_COUNTERS = """\
name: tiny counters with a crash
app: counter
store: sqlite
cluster: {nodes: 3, shards: 6}
workload: {mode: closed, clients: 4, operations: 30, keys: 6}
faults:
  - {at: 0.3, kind: crash, target: node-1, duration: 1}
"""
"""A few counters on SQLite under one crash: an experiment file for tests of sim run's results folder."""

COUNTERS_WITH_A_CRASH = """
name: counters with a crash
app: counter
store: memory
cluster: {nodes: 2, shards: 4, max_live_per_node: 4}
workload: {mode: open, rate: 50, operations: 120, keys: 12}
faults:
  - {at: 1.0, kind: crash, target: node-1, duration: 1}
"""
"""Counters on two nodes with a live budget of 4 (so workers rebuild) and one crash."""

_REGISTRIES: dict[tuple[str, ...], TemplateRegistry] = {}


def experiment(text: str) -> Experiment:
    return parse_experiment(textwrap.dedent(text), source="<test>")


def registry(templates: tuple[str, ...], *, shared: bool = True) -> TemplateRegistry:
    """The app's templates, compiled once per test session (unless a test deploys new versions)."""
    if not shared:
        return templates_for(templates)
    if templates not in _REGISTRIES:
        _REGISTRIES[templates] = templates_for(templates)
    return _REGISTRIES[templates]


def run(
    text: str,
    *,
    seed: int | None = None,
    variant: str = "workers",
    templates: tuple[str, ...] = ("counter",),
    shared: bool = True,
    out: Path | None = None,
) -> RunResult:
    return run_experiment(
        experiment(text), seed=seed, variant=variant, registry=registry(templates, shared=shared), out=out
    )


def failed(result: RunResult) -> list[str]:
    """The invalid verdicts with their first counter-example, for assertion messages."""
    return [f"{v.name}: {v.counterexamples[:1]}" for v in result.verdicts if not v.valid]
