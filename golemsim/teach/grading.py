"""Graded exercises, in the manner of Gossip Glomers: a learner builds something (an experiment,
a fault plan, a client, an app), a grader runs it through golemsim's simulator or executor and
grades it with the project's checkers, and ``check`` prints PASS or FAIL with a counter-example.

Graders register themselves with ``@exercise("01.1", "title")``; ``check("01.1", answer)``
grades an answer. An answer of ``None`` is the unsolved placeholder of a notebook."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..sim.checkers import Verdict

DEFAULT_HINT = "replace `answer = None` with your answer and run the cell again"


@dataclass(frozen=True)
class Grade:
    """One graded answer. Printed as one line (two with a counter-example), the same on every run."""

    exercise: str
    passed: bool
    summary: str
    counter_example: str | None = None
    title: str = ""
    """Filled in by ``check`` from the registered exercise."""

    def __str__(self) -> str:
        head = f"{'PASS' if self.passed else 'FAIL'} {self.exercise}"
        if self.title:
            head += f" {self.title}"
        text = f"{head}: {self.summary}"
        if self.counter_example is not None:
            text += f"\n  counter-example: {self.counter_example}"
        return text


Grader = Callable[[Any], Grade]


@dataclass(frozen=True)
class Exercise:
    """A registered exercise: its id (notebook.number), its title, its grader and a hint."""

    exercise_id: str
    title: str
    grader: Grader
    hint: str = DEFAULT_HINT


_REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, title: str, *, hint: str = DEFAULT_HINT) -> Callable[[Grader], Grader]:
    """Register the decorated function as the grader of ``exercise_id``."""

    def register(grader: Grader) -> Grader:
        known = _REGISTRY.get(exercise_id)
        if known is not None and known.grader is not grader:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, grader, hint)
        return grader

    return register


def exercises() -> list[str]:
    """The ids of every registered exercise, sorted."""
    return sorted(_REGISTRY)


def find(exercise_id: str) -> Exercise:
    """The registered exercise; a KeyError naming the known ids if there is none."""
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise KeyError(f"no exercise {exercise_id!r}; known exercises: {known}") from None


def grade(exercise_id: str, answer: object) -> Grade:
    """Grade an answer without printing. ``None`` fails at once; a grader's error is a FAIL."""
    found = find(exercise_id)
    if answer is None:
        result = Grade(exercise_id, False, f"not answered yet: {found.hint}")
    else:
        try:
            result = found.grader(answer)
        except Exception as error:  # a bad answer: say what went wrong, no traceback
            result = Grade(exercise_id, False, f"the answer could not be graded: {type(error).__name__}: {error}")
    return dataclasses.replace(result, exercise=exercise_id, title=found.title)


def check(exercise_id: str, answer: object) -> Grade:
    """Grade an answer, print the grade and return it."""
    result = grade(exercise_id, answer)
    print(result)
    return result


def passed(exercise_id: str, summary: str) -> Grade:
    return Grade(exercise_id, True, summary)


def failed(exercise_id: str, summary: str, counter_example: str) -> Grade:
    return Grade(exercise_id, False, summary, counter_example)


def first_invalid(verdicts: list[Verdict]) -> Verdict | None:
    """The first verdict that is not valid, or None."""
    return next((v for v in verdicts if not v.valid), None)


def describe_counterexample(verdict: Verdict) -> str:
    """A checker's first counter-example as one line: ``name: key value, ...``."""
    if not verdict.counterexamples:
        return f"{verdict.name}: {verdict.note or 'invalid'}"
    example = verdict.counterexamples[0]
    fields = ", ".join(f"{key} {value}" for key, value in example.items())
    more = f" (and {verdict.failures - 1} more)" if verdict.failures > 1 else ""
    return f"{verdict.name}: {fields}{more}"
