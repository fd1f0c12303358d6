"""templates/counter-c, the counter template in C: built from its sources by its build.sh (clang +
wasi-libc, made a component by the jco of tools/wasm-toolchain), it is durable on a real Executor,
tiny, and its experiment (experiments/counter-c-crash.yaml) is valid.

Without the toolchain these tests skip, naming `bash .ci/setup.sh`; under CI (CI=true) they fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, built_by

from golemsim import Executor, build_template

COUNTER_C = ROOT / "templates" / "counter-c"


@pytest.fixture(scope="module")
def counter_c() -> Path:
    """The template folder, its component built (or copied from the cache) by build.sh."""
    assert built_by(COUNTER_C / "build.sh") == COUNTER_C / "build" / "counter.wasm"
    return COUNTER_C


def test_c_counter_is_a_small_prebuilt_component(counter_c: Path) -> None:
    built = build_template(counter_c)
    assert built.prebuilt and built.name == "counter"
    assert built.wasm_path == counter_c / "build" / "counter.wasm"
    assert built.wasm_path.stat().st_size < 100_000


def test_c_counter_increments_and_survives_a_restart_on_sqlite(tmp_path: Path, counter_c: Path) -> None:
    with Executor.open(tmp_path / "golem.db") as ex:
        info = ex.deploy(build_template(counter_c).wasm_path, name="counter")
        assert sorted(info.functions) == ["get() -> s64", "increment(by: s64) -> s64"]
        assert not ex.templates.get("counter").imports  # no host calls, no WASI
        assert ex.invoke("counter", "c1", "increment", [5], idempotency_key="a") == 5
        assert ex.invoke("counter", "c1", "increment", [5], idempotency_key="a") == 5  # deduplicated
        assert ex.invoke("counter", "c1", "increment", [-2]) == 3
        assert ex.invoke("counter", "c2", "increment", [2**40]) == 2**40
        ex.restart_worker("counter/c1")
        assert ex.invoke("counter", "c1", "get", []) == 3
        assert ex.invoke("counter", "c1", "increment", [1]) == 4
    with Executor.open(tmp_path / "golem.db") as ex:  # a new executor on the same database
        assert ex.invoke("counter", "c1", "get", []) == 4
        assert ex.invoke("counter", "c2", "get", []) == 2**40


def test_c_counter_experiment_is_valid_under_crashes(tmp_path: Path, counter_c: Path) -> None:
    experiment = ROOT / "experiments" / "counter-c-crash.yaml"
    command = [sys.executable, "-m", "golemsim", "sim", "run", str(experiment), "--out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["valid"]
