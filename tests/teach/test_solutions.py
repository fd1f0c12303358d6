"""Every graded exercise has one worked solution in notebooks/solutions/, and it passes."""

from __future__ import annotations

import runpy
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from golemsim.teach import Grade, exercises, grade

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
NEEDS_FILES_OF = {"08": "08-test-your-own-worker.ipynb"}
"""Notebooks whose exercises test files the notebook writes: their first cells are run first."""


def solution_ids() -> list[str]:
    return sorted(path.stem for path in SOLUTIONS.glob("*.py"))


def test_every_exercise_has_one_solution_and_every_solution_an_exercise() -> None:
    assert solution_ids() == exercises()


def notebook_files(notebook: str, until: str, folder: Path) -> Path:
    """Run a notebook's cells, in a copy of it in ``folder``, up to the first cell containing
    ``until`` (that one included): the files those cells write land in ``folder``."""
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    last = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and until in cell.source)
    nb.cells = nb.cells[: last + 1]
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(folder)}}).execute()
    return folder


@pytest.fixture(scope="module")
def wallet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Notebook 08's my-worker/mywallet/, written by its own cells, in a folder of its own."""
    folder = tmp_path_factory.mktemp("nb08")
    return notebook_files(NEEDS_FILES_OF["08"], "%%writefile my-worker/mywallet/experiment.yaml", folder)


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", exercises())
def test_the_solution_passes(exercise_id: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if exercise_id.split(".")[0] in NEEDS_FILES_OF:
        monkeypatch.chdir(request.getfixturevalue("wallet_folder"))
    else:
        monkeypatch.chdir(NOTEBOOKS)  # as the notebooks run
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


@pytest.mark.slow
def test_08_1_a_test_without_lost_answers_lets_the_mutant_through(wallet_folder: Path) -> None:
    app = wallet_folder / "my-worker" / "mywallet"
    text = (app / "experiment.yaml").read_text().replace("operations: 90", "operations: 40")
    quiet = app / "experiment-quiet.yaml"
    quiet.write_text(text.replace("timeout_rate: 0.4", "timeout_rate: 0"))
    result = grade("08.1", quiet)
    assert not result.passed
    assert result.summary.startswith("the mutant passed your test")
    assert result.counter_example is not None and "without key=key" in result.counter_example


@pytest.mark.slow
def test_08_1_a_test_of_the_broken_template_fails(wallet_folder: Path, tmp_path: Path) -> None:
    app = wallet_folder / "my-worker" / "mywallet"
    broken = tmp_path / "mywallet-broken"
    shutil.copytree(app / "mywallet", broken)
    code = (broken / "app.py").read_text()
    (broken / "app.py").write_text(
        code.replace("golem.sleep(0.2)", "put_back(amount)\n                raise Err('no answer')")
    )
    text = (app / "experiment.yaml").read_text().replace("operations: 90", "operations: 40")
    experiment = app / "experiment-broken-08.yaml"
    experiment.write_text(text.replace("{mywallet: ./mywallet}", "{mywallet: " + str(broken) + "}"))
    result = grade("08.1", experiment)
    assert not result.passed
    assert result.summary.startswith("your test fails the good template")
    assert result.counter_example is not None and result.counter_example.startswith("money-is-conserved")


def give_up(send: Callable[..., Any], order: dict[str, Any]) -> Any:
    return send(order, f"order-{uuid.uuid4()}")


def a_fresh_key_per_attempt(send: Callable[..., Any], order: dict[str, Any]) -> Any:
    while True:
        try:
            return send(order, f"order-{uuid.uuid4()}")
        except ConnectionError:
            continue


@pytest.mark.slow
def test_07_1_a_client_that_does_not_retry_fails() -> None:
    result = grade("07.1", give_up)
    assert not result.passed
    assert result.summary == "order 2: your client gave up"
    assert (
        result.counter_example is not None and "the answer to attempt 1 of order 2 was lost" in result.counter_example
    )


@pytest.mark.slow
def test_07_1_a_fresh_key_per_attempt_charges_twice() -> None:
    result = grade("07.1", a_fresh_key_per_attempt)
    assert not result.passed
    assert result.summary == "order 2 was charged 2 times"
    assert result.counter_example is not None and result.counter_example.startswith("it ran as 2 checkouts")


def test_07_1_an_answer_that_is_no_function_fails() -> None:
    result = grade("07.1", 3)
    assert not result.passed
    assert "TypeError: expected a function place_order(send, order), not int" in result.summary


def test_01_2_fixed_crashes_are_not_random() -> None:
    result = grade("01.2", COUNTERS_ONE_SHORT_OVERLAP)
    assert not result.passed
    assert result.counter_example == "the experiment has no random_faults"


def test_01_2_gentle_random_faults_fail_for_the_seed_they_spare() -> None:
    gentle = COUNTERS_ONE_SHORT_OVERLAP.split("faults:")[0] + (
        "random_faults: {rates: {crash: 20}, start: 0.5, mean_duration: 2.5}\n"
    )
    result = grade("01.2", gentle)
    assert not result.passed
    assert result.summary == "seed 1: the random faults were too gentle"
    assert result.counter_example == "0 crashes, 0 nodes declared dead (at least 3 and 1 wanted)"
