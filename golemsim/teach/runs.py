"""Helpers for graders that run a learner's experiment on the virtual cluster."""

from __future__ import annotations

from pathlib import Path

from ..sim import Experiment, Fault, RunResult, load_experiment, parse_experiment
from .grading import Grade, describe_counterexample, failed, first_invalid


def experiment_of(answer: object) -> Experiment:
    """An answer given as YAML text, a path to an experiment file, or an Experiment."""
    if isinstance(answer, Experiment):
        return answer
    if isinstance(answer, Path):
        return load_experiment(answer)
    if isinstance(answer, str):
        if "\n" not in answer and answer.endswith((".yaml", ".yml")):
            return load_experiment(answer)
        return parse_experiment(answer, source="<your answer>")
    kind = type(answer).__name__
    raise TypeError(f"expected the experiment's YAML text, its file's path or an Experiment, not {kind}")


def require_app(exercise_id: str, experiment: Experiment, app: str) -> Grade | None:
    """A FAIL if the experiment runs another app than ``app``."""
    if experiment.app != app:
        runs = f"the experiment runs app: {experiment.app}"
        return failed(exercise_id, f"this exercise is about the {app} app", runs)
    return None


def require_small(exercise_id: str, experiment: Experiment, most: int) -> Grade | None:
    """A FAIL if the workload sends more than ``most`` operations (graders run in seconds)."""
    operations = experiment.clients.operations
    if operations > most:
        return failed(exercise_id, f"keep the run small: at most {most} operations", f"operations: {operations}")
    return None


def verdicts_grade(exercise_id: str, result: RunResult, summary: str) -> Grade | None:
    """A FAIL with the first invalid verdict's first counter-example, or None if all are valid."""
    bad = first_invalid(result.verdicts)
    if bad is None:
        return None
    what = f"{summary}: {bad.name} is INVALID ({bad.failures} failed)"
    return failed(exercise_id, what, describe_counterexample(bad))


def crash_windows(faults: list[Fault]) -> list[tuple[str, float, float]]:
    """(node, from, to) for every crash of a run, in time order."""
    return sorted(((f.target, f.at, f.at + f.duration) for f in faults if f.kind == "crash"), key=lambda w: w[1])


def two_down_at_once(faults: list[Fault]) -> tuple[str, str, float, float] | None:
    """The first moment two different nodes were down together: (node, node, from, to), or None."""
    windows = crash_windows(faults)
    for i, (node, start, end) in enumerate(windows):
        for other, other_start, other_end in windows[i + 1 :]:
            begin, finish = max(start, other_start), min(end, other_end)
            if other != node and begin < finish:
                return node, other, begin, finish
    return None
