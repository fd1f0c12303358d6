"""Every graded exercise has one worked solution in notebooks/solutions/, and it passes."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from golemsim.teach import Grade, exercises, grade

SOLUTIONS = Path(__file__).resolve().parents[2] / "notebooks" / "solutions"


def solution_ids() -> list[str]:
    return sorted(path.stem for path in SOLUTIONS.glob("*.py"))


def test_every_exercise_has_one_solution_and_every_solution_an_exercise() -> None:
    assert solution_ids() == exercises()


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", exercises())
def test_the_solution_passes(exercise_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(SOLUTIONS.parent)  # as the notebooks run
    done = runpy.run_path(str(SOLUTIONS / f"{exercise_id}.py"), run_name="__main__")
    result = done["grade"]
    assert isinstance(result, Grade)
    assert result.exercise == exercise_id
    assert result.passed, str(result)


@pytest.mark.parametrize("exercise_id", exercises())
def test_an_unanswered_exercise_fails(exercise_id: str) -> None:
    result = grade(exercise_id, None)
    assert not result.passed
    assert result.summary.startswith("not answered yet: ")


COUNTERS_ONE_SHORT_OVERLAP = """
name: counters, a second crash too short to move shards
app: counter
seed: 1
store: memory
cluster: {nodes: 3, shards: 6}
workload: {mode: closed, clients: 4, think: 0.02, operations: 150, keys: 8}
faults:
  - {at: 1.0, kind: crash, target: node-2, duration: 1.5}
  - {at: 1.5, kind: crash, target: node-3, duration: 1}
"""

CHECKOUT = """
name: checkout survives node crashes (small)
app: checkout
seed: 1
store: memory
check_limit: 60
cluster: {nodes: 3, shards: 12}
services: {latency: 0.05}
workload: {mode: open, rate: 40, operations: 200, keys: 200, timeout: 5, retries: 0}
faults:
  - {at: 1.0, kind: crash, target: node-1, duration: 2}
  - {at: 2.2, kind: crash, target: node-2, duration: 1.5}
  - {at: 3.6, kind: crash, target: node-3, duration: 1}
  - {at: 4.4, kind: crash, target: node-1, duration: 1}
"""


def test_01_1_a_crash_shorter_than_the_heartbeat_timeout_fails() -> None:
    result = grade("01.1", COUNTERS_ONE_SHORT_OVERLAP)
    assert not result.passed
    assert result.counter_example is not None and "1 node(s) declared dead" in result.counter_example


def test_01_1_another_app_fails_without_running() -> None:
    result = grade("01.1", CHECKOUT)
    assert not result.passed
    assert result.counter_example == "the experiment runs app: checkout"


def test_02_1_lambdas_without_retries_leave_orders_by_halves() -> None:
    result = grade("02.1", CHECKOUT)
    assert not result.passed
    assert "orders-whole-or-undone is INVALID" in result.summary
    assert result.counter_example is not None and "charged but never shipped" in result.counter_example


def test_02_1_taking_the_crashes_away_fails() -> None:
    result = grade("02.1", CHECKOUT.split("faults:")[0].replace("retries: 0", "retries: 2"))
    assert not result.passed
    assert result.counter_example == "0 crashes, 0 function instances died with their node"


@pytest.mark.slow
def test_02_2_a_crash_after_the_shipment_left_fails() -> None:
    one_crash = CHECKOUT.split("faults:")[0] + "faults:\n  - {at: 1.0, kind: crash, target: node-1, duration: 2}\n"
    result = grade("02.2", one_crash)
    assert not result.passed
    assert result.counter_example is not None and "no order was charged before t=1 s" in result.counter_example


def test_02_2_more_than_one_crash_fails_without_running() -> None:
    result = grade("02.2", CHECKOUT)
    assert not result.passed
    assert result.counter_example is not None and result.counter_example.startswith("faults: t=1s crash node-1")
