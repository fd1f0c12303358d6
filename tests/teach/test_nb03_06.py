"""The graders of notebooks 03-06 fail wrong answers, each with a counter-example. A wrong answer
here is the worked solution with one thing broken, run for real on the simulated cluster."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from golemsim.core.updates import UpdateOutcome
from golemsim.teach import grade

SOLUTIONS = Path(__file__).resolve().parents[2] / "notebooks" / "solutions"


def solution_answer(exercise_id: str) -> str:
    """The ``answer = \"\"\"...\"\"\"`` text of a worked solution, without running its check."""
    tree = ast.parse((SOLUTIONS / f"{exercise_id}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["answer"]:
            value = ast.literal_eval(node.value)
            assert isinstance(value, str)
            return value
    raise AssertionError(f"{exercise_id}.py assigns no answer")


def wrong(exercise_id: str, old: str, new: str) -> str:
    answer = solution_answer(exercise_id)
    assert old in answer
    return answer.replace(old, new)


def assert_fails(exercise_id: str, answer: str, summary: str, example: str) -> None:
    result = grade(exercise_id, answer)
    assert not result.passed, str(result)
    assert summary in result.summary, str(result)
    assert result.counter_example is not None and example in result.counter_example, str(result)


def test_03_1_a_crash_of_the_callers_node_is_not_the_callee() -> None:
    # node-1 holds the user's cart (the caller), not the phone's cart being merged
    answer = wrong("03.1", "target: node-2", "target: node-1")
    assert_fails(
        "03.1",
        answer,
        "hit no anonymous cart being merged",
        "shopping-cart/user-1 <- shopping-cart/anon-d1 (on node-2)",
    )


def test_03_1_needs_exactly_one_crash() -> None:
    answer = solution_answer("03.1") + "  - {at: 2.0, kind: crash, target: node-3, duration: 1}\n"
    assert_fails("03.1", answer, "exactly one crash", "crash node-3")


def test_04_1_a_crash_elsewhere_leaves_the_hottest_lot_alone() -> None:
    answer = wrong("04.1", "target: node-4", "target: node-1")
    assert_fails(
        "04.1", answer, "no crash moved the hottest lot, auction/lot-0", "node-1 at t=2.000 s (the lot was on node-4)"
    )


def test_04_1_a_short_crash_does_not_move_the_lot() -> None:
    answer = wrong("04.1", "duration: 3", "duration: 1")  # back before the heartbeat timeout: no move
    assert_fails("04.1", answer, "no crash moved the hottest lot", "node-4 at t=2.000 s (the lot was on node-4)")


def test_05_1_the_templates_snapshot_interval_replays_too_much() -> None:
    answer = wrong("05.1", "every_invocations: 2", "every_invocations: 20")
    assert_fails("05.1", answer, "at most 2 allowed", "replay of 15 invocations")


def test_05_2_a_crash_that_hits_no_charge_is_caught_as_nothing() -> None:
    answer = wrong("05.2", "at: 0.5", "at: 1.0")
    assert_fails("05.2", answer, "found no order charged twice", "every verdict valid")


def test_05_2_with_dedupe_on_nothing_can_be_charged_twice() -> None:
    answer = wrong("05.2", "dedupe: false", "dedupe: true")
    assert_fails("05.2", answer, "still deduplicate", "dedupe: true")


def test_06_1_a_hard_upgrade_keeps_a_client_waiting() -> None:
    answer = wrong("06.1", "mode: drain", "mode: hard")
    assert_fails("06.1", answer, "one waited 3.", "ok after 3.")


def test_06_1_the_update_must_start_during_the_upgrade() -> None:
    answer = wrong("06.1", "at: 4.5, kind: template-update", "at: 0.5, kind: template-update")
    assert_fails("06.1", answer, "must start during the rolling upgrade", "template update at t=0.500 s")


@pytest.mark.parametrize("exercise_id", ["03.1", "04.1", "05.1", "06.1"])
def test_another_app_is_refused(exercise_id: str) -> None:
    answer = solution_answer(exercise_id)
    app = next(line for line in answer.splitlines() if line.startswith("app:"))
    assert_fails(exercise_id, answer.replace(app, "app: bank"), "this exercise is about", "app: bank")


def test_an_update_outcome_prints_as_one_line() -> None:
    assert str(UpdateOutcome(True, 2, "auto")) == "updated to v2 (auto)"
    failed = UpdateOutcome(False, 2, "auto", "template counter v3 has no function 'decrement'")
    assert (
        str(failed) == "update (auto) failed, the worker still runs v2: template counter v3 has no function 'decrement'"
    )
