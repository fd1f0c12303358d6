"""A run reproduces from its seed and its sources, whatever the build: componentize-py builds of
the same template differ byte for byte (bytecodealliance/componentize-py#247), so nothing the
simulation does may depend on the build, such as the fuel an invocation takes. Two real builds
of the counter, one made fresh for this test, give one trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import COUNTERS_WITH_A_CRASH, experiment, failed, registry

from golemsim import build_template
from golemsim.core.engine import Engine
from golemsim.core.templates import MemoryTemplateStore, TemplateRegistry
from golemsim.locations import templates_dir
from golemsim.sim.runner import run_experiment


@pytest.mark.slow
def test_two_builds_of_the_counter_give_the_same_trace(tmp_path: Path) -> None:
    fresh = build_template(templates_dir() / "counter", cache_dir=tmp_path / "cache", force=True)
    shared = build_template(templates_dir() / "counter")
    other = TemplateRegistry(MemoryTemplateStore(), Engine())
    other.deploy("counter", fresh.wasm_path.read_bytes(), retry=fresh.retry, snapshot=fresh.snapshot)

    first = run_experiment(experiment(COUNTERS_WITH_A_CRASH), seed=3, registry=registry(("counter",)))
    second = run_experiment(experiment(COUNTERS_WITH_A_CRASH), seed=3, registry=other)
    assert first.valid and second.valid, failed(first) + failed(second)
    differ = fresh.wasm_path.read_bytes() != shared.wasm_path.read_bytes()  # so far they always have
    assert first.trace_digest == second.trace_digest, f"builds differ: {differ}"
    assert [op.record() for op in first.history] == [op.record() for op in second.history]
