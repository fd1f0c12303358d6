"""Exercises of notebook 08, test your own worker: a test that catches a mutant of the template."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from ...sim import Experiment, RunResult, run_experiment
from ..grading import Grade, describe_counterexample, exercise, failed, first_invalid, passed
from ..runs import experiment_of, require_small

KEYED_CALL = ", key=key)"
"""What the mutant loses: the one key made before the payout loop, passed to every attempt."""


@exercise(
    "08.1",
    "a test that catches a payout without its key",
    hint="write an experiment file for the good mywallet template (at most 40 requests) and give its path",
)
def catch_the_keyless_payout(answer: object) -> Grade:
    """Mutation testing: the learner's experiment (with its invariants) must pass the template as
    written and fail the same template with ``key=key`` deleted from its ``golem.call``."""
    experiment = experiment_of(answer)
    refused = require_small("08.1", experiment, 40)
    if refused:
        return refused
    templates = experiment.files.templates
    keyed = {name: folder for name, folder in templates.items() if KEYED_CALL in _app_text(folder)}
    if not keyed:
        return failed(
            "08.1", "test the good template: the one whose payout passes key=key", f"no `{KEYED_CALL}` in {templates}"
        )
    good = run_experiment(experiment)
    bad = first_invalid(good.verdicts)
    if bad is not None:
        return failed("08.1", f"your test fails the good template: {bad.name}", describe_counterexample(bad))
    with tempfile.TemporaryDirectory(prefix="golemsim-mutant-") as scratch:
        mutant = run_experiment(_mutant(experiment, keyed, Path(scratch)))
    caught = first_invalid(mutant.verdicts)
    if caught is None:
        return failed(
            "08.1",
            f"the mutant passed your test: {_all_valid(mutant)}",
            "the template without key=key (a fresh key for each attempt of the payout loop) made no verdict fail",
        )
    return passed(
        "08.1",
        f"the good template passes ({_all_valid(good)}); the mutant fails {describe_counterexample(caught)}",
    )


def _app_text(folder: Path) -> str:
    app = folder / "app.py"
    return app.read_text() if app.is_file() else ""


def _mutant(experiment: Experiment, keyed: dict[str, Path], scratch: Path) -> Experiment:
    """The experiment with each keyed template replaced by a copy whose calls lose ``key=key``."""
    folders = dict(experiment.files.templates)
    for name, folder in keyed.items():
        copy = scratch / name
        shutil.copytree(folder, copy)
        app = copy / "app.py"
        app.write_text(app.read_text().replace(KEYED_CALL, ")"))
        folders[name] = copy
    return dataclasses.replace(experiment, files=dataclasses.replace(experiment.files, templates=folders))


def _all_valid(result: RunResult) -> str:
    return f"all {len(result.verdicts)} verdicts valid"
