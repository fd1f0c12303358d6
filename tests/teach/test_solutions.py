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
