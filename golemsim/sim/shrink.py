"""Shrinking a failing run: its fault plan reduced to a small scripted plan that still fails.

    golemsim sim shrink results/campaign-checkout-crash/seed-17

The results folder of an invalid run (``golemsim sim run`` or a campaign's failing seed) names
its experiment file, its seed and every fault that started (summary.json). Those faults become a
scripted plan (``faults:``, with ``random_faults`` gone) and the seed is run again with it: the
failure must persist, i.e. one of the checkers that were invalid must be invalid again. Then,
while the failure persists, the plan is made smaller (delta debugging, ddmin: drop halves, then
quarters, ... of the faults), each fault shorter (its duration halved) and later (moved towards
the end of the load). Every run costs one simulation, so the number of runs is bounded
(``max_runs``); the smallest failing plan found by then is the answer.

The answer is written as ``shrunk.yaml`` in the results folder: the original experiment file with
the seed fixed, the shrunk plan as its faults, and its paths rewritten relative to the new place,
so ``golemsim sim run RESULTS/shrunk.yaml`` replays the counter-example.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import BadRequest
from ..core.templates import TemplateRegistry
from .experiment import Experiment, load_experiment
from .nemesis import Fault
from .results import fault_from_dict, fault_to_dict
from .user_app import Reference

MIN_DURATION = 0.05
"""Seconds: a fault is not shortened below this."""
HALVINGS = 4
"""At most this many halvings of each fault's duration."""
LATER_STEPS = 3
"""At most this many tries to move each fault later (bisecting towards the end of the load)."""
LASTS = ("crash", "partition", "loss", "slow-storage", "storage-down", "upgrade")
"""Kinds whose duration means something (a template update is instantaneous)."""

Report = Callable[[str], None]
"""Told one line per run."""


def ordered(plan: Sequence[Fault]) -> tuple[Fault, ...]:
    """A plan in the order the nemesis starts it (by time; equal times in a fixed order)."""
    return tuple(sorted(plan, key=lambda fault: (fault.at, repr(fault))))


class OutOfRuns(Exception):
    """The budget of runs is spent: the best plan so far is the answer."""


@dataclass(frozen=True)
class FailingRun:
    """What a results folder says about the run to shrink."""

    folder: Path
    source: Path
    seed: int
    plan: tuple[Fault, ...]
    invalid: tuple[str, ...]
    end_of_load: float
    source_changed: bool


@dataclass
class Shrunk:
    """A shrink's outcome."""

    run: FailingRun
    target: tuple[str, ...]
    """The checkers of which one must stay invalid."""
    reproduced: bool
    """Whether the scripted plan of every fault that started still failed."""
    plan: tuple[Fault, ...]
    """The smallest failing plan found (the original plan if it did not reproduce)."""
    invalid: tuple[str, ...]
    """The checkers invalid under ``plan``."""
    runs: int
    budget_spent: bool
    path: Path | None = None
    """shrunk.yaml, when written."""
    steps: list[str] = field(default_factory=list)

    def replay_command(self) -> str:
        assert self.path is not None
        out = self.path.parent / "shrunk"
        return f"golemsim sim run {shlex.quote(str(self.path))} --out {shlex.quote(str(out))}"

    def text(self) -> str:
        before, after = _faults(len(self.run.plan)), _faults(len(self.plan))
        if not self.reproduced:
            return (
                f"seed {self.run.seed} with its {before} as a scripted plan did not fail again "
                f"({', '.join(self.run.invalid)} stayed valid): no smaller plan to look for"
            )
        spent = "; the budget of runs was spent, so a smaller plan may exist (--max-runs)" if self.budget_spent else ""
        lines = [
            f"shrunk seed {self.run.seed} of {self.run.source.name}: {before} -> {after} in {self.runs} runs{spent}",
            f"still invalid: {', '.join(self.invalid)}",
            *[f"  - {fault.describe()}" for fault in self.plan],
        ]
        if self.path is not None:
            lines += [f"wrote {self.path}", f"replay: {self.replay_command()}"]
        return "\n".join(lines)


def _faults(n: int) -> str:
    return f"{n} fault{'' if n == 1 else 's'}"


def read_failing_run(folder: str | Path) -> FailingRun:
    """The run a results folder records; BadRequest when it is missing, valid, or lacks what a
    shrink needs."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadRequest(f"no results folder at {folder}")
    summary_path = folder / "summary.json"
    try:
        summary = json.loads(summary_path.read_text())
    except OSError:
        raise BadRequest(f"{folder} has no summary.json: not the results folder of a run") from None
    except ValueError as error:
        raise BadRequest(f"{summary_path} is not JSON: {error}") from None
    if summary.get("valid", True):
        raise BadRequest(f"the run in {folder} was valid: there is no failure to shrink")
    if "fault_plan" not in summary or "source_path" not in summary:
        raise BadRequest(
            f"{summary_path} names no experiment file or fault plan (an experiment written inline, or a folder "
            "written by an older golemsim): run the experiment file again with golemsim sim run --seed N --out FOLDER"
        )
    source = Path(summary["source_path"])
    if not source.is_file():
        raise BadRequest(f"the experiment file of {folder} is gone: {source}")
    try:
        verdicts = json.loads((folder / "verdicts.json").read_text())
        invalid = tuple(str(v["checker"]) for v in verdicts if not v["valid"])
        plan = ordered([fault_from_dict(entry) for entry in summary["fault_plan"]])
        end = float(summary["workers"]["simulated_seconds"])
        seed = int(summary["seed"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BadRequest(f"{folder}: summary.json or verdicts.json is not as golemsim writes it ({error!r})") from None
    changed = hashlib.sha256(source.read_bytes()).hexdigest() != summary.get("source_sha256")
    return FailingRun(folder, source, seed, plan, invalid, end, changed)


class Shrinker:
    """Runs the seed under candidate plans, remembering each plan's verdicts."""

    def __init__(
        self,
        experiment: Experiment,
        seed: int,
        target: Sequence[str],
        max_runs: int,
        report: Report,
    ) -> None:
        from .campaign import reusable_registry
        from .runner import experiment_templates

        self.experiment = dataclasses.replace(experiment, random_faults=None)
        self.seed = seed
        self.target = tuple(target)
        self.max_runs = max_runs
        self.report = report
        self.runs = 0
        self.trying = "the scripted plan"
        """What the next run tries (for its progress line)."""
        self.seen: dict[tuple[Fault, ...], tuple[str, ...]] = {}
        self.shared: TemplateRegistry | None = None
        if reusable_registry(experiment):
            self.shared = experiment_templates(experiment)

    def invalid(self, plan: Sequence[Fault]) -> tuple[str, ...]:
        """The checkers invalid when the seed runs with ``plan`` (run once per plan)."""
        from .runner import experiment_templates, run_experiment

        key = ordered(plan)
        if key in self.seen:
            return self.seen[key]
        if self.runs >= self.max_runs:
            raise OutOfRuns
        self.runs += 1
        experiment = dataclasses.replace(self.experiment, faults=key)
        registry = self.shared or experiment_templates(experiment)
        try:
            result = run_experiment(experiment, seed=self.seed, registry=registry)
        finally:
            if self.shared is None:
                registry.engine.stop()
        invalid = tuple(v.name for v in result.verdicts if not v.valid)
        self.seen[key] = invalid
        fails = self.fails_with(invalid)
        what = "still fails" if fails else f"other checkers fail: {', '.join(invalid)}" if invalid else "passes"
        if fails:
            what += f" ({', '.join(name for name in invalid if name in self.target)})"
        self.report(f"run {self.runs}/{self.max_runs}: {self.trying}, {_faults(len(key))} -> {what}")
        return invalid

    def fails_with(self, invalid: Sequence[str]) -> bool:
        return any(name in self.target for name in invalid)

    def fails(self, plan: Sequence[Fault]) -> bool:
        return self.fails_with(self.invalid(plan))


def ddmin(faults: list[Fault], fails: Callable[[list[Fault]], bool]) -> list[Fault]:
    """Zeller's delta debugging: a failing subset of ``faults`` (which fail) from which no single
    chunk at the finest split can be dropped. ``fails`` may raise OutOfRuns; the caller keeps the
    best plan it saw."""
    n = 2
    while len(faults) >= 2:
        chunks = _split(faults, n)
        for chunk in chunks:
            if fails(chunk):
                faults, n = chunk, 2
                break
        else:
            for i in range(len(chunks)):
                rest = [f for j, c in enumerate(chunks) if j != i for f in c]
                if fails(rest):
                    faults, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(faults):
                    return faults
                n = min(2 * n, len(faults))
    return faults


def _split(items: list[Fault], n: int) -> list[list[Fault]]:
    size, extra = divmod(len(items), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        chunks.append(items[start:end])
        start = end
    return [c for c in chunks if c]


def shrink(
    folder: str | Path,
    *,
    max_runs: int = 40,
    checkers: Sequence[str] = (),
    report: Report | None = None,
    write: bool = True,
) -> Shrunk:
    """Shrink the failing run of a results folder; write ``shrunk.yaml`` there (``write``)."""
    if max_runs < 1:
        raise BadRequest(f"--max-runs must be at least 1, got {max_runs}")
    run = read_failing_run(folder)
    unknown = [name for name in checkers if name not in run.invalid]
    if unknown:
        raise BadRequest(
            f"checker {unknown[0]!r} was not invalid in {run.folder} (invalid: {', '.join(run.invalid) or 'none'})"
        )
    say = report or (lambda line: None)
    if run.source_changed:
        say(f"note: {run.source} changed since the run; shrinking against the file as it is now")
    experiment = load_experiment(run.source)
    target = tuple(checkers) or run.invalid
    shrinker = Shrinker(experiment, run.seed, target, max_runs, say)
    search = _Search(list(run.plan))
    say(f"seed {run.seed}: {_faults(len(run.plan))}, invalid: {', '.join(run.invalid)}; does the scripted plan fail?")
    spent = False
    try:
        if not shrinker.fails(search.plan):
            return Shrunk(run, target, False, run.plan, shrinker.seen[run.plan], shrinker.runs, False)
        shrinker.trying = "no faults at all"
        if search.plan and shrinker.fails([]):
            search.accept([], "fewer: it fails with no faults at all")
        else:
            shrinker.trying = "fewer faults"
            ddmin(search.plan, lambda plan: search.smaller(plan, shrinker))
            search.steps.append(f"fewer: {len(run.plan)} -> {len(search.plan)} faults")
            _shorter(search, shrinker)
            _later(search, run.end_of_load, shrinker)
    except OutOfRuns:
        spent = True
        search.steps.append(f"stopped after {shrinker.runs} runs (--max-runs)")
    plan = ordered(search.plan)
    result = Shrunk(run, target, True, plan, shrinker.seen[plan], shrinker.runs, spent, steps=search.steps)
    if write:
        result.path = write_shrunk(run, experiment, plan, result.invalid)
    return result


@dataclass
class _Search:
    """The smallest failing plan so far (kept when the budget runs out mid-phase)."""

    plan: list[Fault]
    steps: list[str] = field(default_factory=list)

    def accept(self, plan: Sequence[Fault], step: str = "") -> None:
        self.plan = list(ordered(plan))
        if step:
            self.steps.append(step)

    def smaller(self, plan: list[Fault], shrinker: Shrinker) -> bool:
        """ddmin's test: whether ``plan`` fails; a failing plan no larger than the best is kept."""
        failing = shrinker.fails(plan)
        if failing and len(plan) <= len(self.plan):
            self.accept(plan)
        return failing


def _shorter(search: _Search, shrinker: Shrinker) -> None:
    """Each lasting fault's duration halved while the failure persists."""
    for i in range(len(search.plan)):
        for _ in range(HALVINGS):
            fault = search.plan[i]
            shorter = round(fault.duration / 2, 3)
            if fault.kind not in LASTS or shorter < MIN_DURATION:
                break
            candidate = [*search.plan[:i], dataclasses.replace(fault, duration=shorter), *search.plan[i + 1 :]]
            shrinker.trying = f"shorter: the {fault.kind} at t={fault.at:g} s for {shorter:g} s"
            if not shrinker.fails(candidate):
                break
            search.plan = candidate  # the same order: only a duration changed
            search.steps.append(f"shorter: {fault.kind} at t={fault.at:g} s lasts {shorter:g} s")


def _later(search: _Search, end: float, shrinker: Shrinker) -> None:
    """Each fault moved towards the end of the load (bisecting) while the failure persists."""
    for i in range(len(search.plan)):
        fault = search.plan[i]
        low, high = fault.at, end
        for _ in range(LATER_STEPS):
            later = round(low + (high - low) / 2, 3)
            if later <= fault.at + 0.001:
                break
            moved = dataclasses.replace(fault, at=later)
            candidate = [*search.plan[:i], moved, *search.plan[i + 1 :]]
            shrinker.trying = f"later: the {fault.kind} at t={fault.at:g} s at t={later:g} s"
            if shrinker.fails(candidate):
                search.plan = candidate  # kept in place: the faults after it are tried in turn
                search.steps.append(f"later: {fault.kind} at t={fault.at:g} s moved to t={later:g} s")
                fault, low = moved, later
            else:
                high = later
    search.accept(search.plan)


# -- the experiment file ------------------------------------------------------------------------


def write_shrunk(run: FailingRun, experiment: Experiment, plan: Sequence[Fault], invalid: Sequence[str]) -> Path:
    """``shrunk.yaml`` in the results folder: the original file with the seed fixed, ``plan`` as
    its faults, no random faults, and its paths relative to the results folder. Read back, it
    gives exactly ``plan``."""
    from .experiment import parse_experiment

    path = run.folder / "shrunk.yaml"
    original = yaml.safe_load(run.source.read_text())
    doc: dict[str, Any] = {}
    faults = [_relocated(fault_to_dict(f), experiment, path.parent) for f in ordered(plan)]
    for key, value in original.items():
        if key in ("faults", "random_faults"):
            doc.setdefault("faults", faults)
        elif key == "name":
            doc[key] = f"{value} (seed {run.seed}, shrunk)"
        elif key == "description":
            continue
        elif key == "app" and isinstance(value, dict):
            doc[key] = _app_paths(experiment, path.parent)
        else:
            doc[key] = value
        if key == "app" and "seed" not in original:
            doc["seed"] = run.seed
        if key == "name":
            doc["description"] = (
                f"The fault plan of seed {run.seed} of {run.source.name}, shrunk by golemsim sim shrink from "
                f"{len(run.plan)} to {len(plan)} faults; still invalid: {', '.join(invalid)}."
            )
    doc["seed"] = run.seed
    doc.setdefault("faults", faults)
    origin = _relative(run.source, path.parent)
    header = f"# golemsim sim shrink: seed {run.seed} of {origin}, {len(run.plan)} faults -> {len(plan)}\n"
    text = header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=110, allow_unicode=True)
    path.write_text(text)
    again = [fault_to_dict(f) for f in parse_experiment(text, source=str(path)).faults]
    if again != faults:  # the file must replay the plan that was run
        raise AssertionError(f"{path} reads back as another plan: {again} != {faults}")
    return path


def _relative(target: Path, folder: Path) -> str:
    return os.path.relpath(target, folder.resolve())


def _reference(reference: Reference, folder: Path) -> str:
    if reference.file is None:
        return f"{reference.module}:{reference.name}"
    return f"{_relative(reference.file, folder)}:{reference.name}"


def _app_paths(experiment: Experiment, folder: Path) -> dict[str, Any]:
    """The app's files named relative to ``folder``."""
    files = experiment.files
    app: dict[str, Any] = {
        "templates": {name: _relative(path, folder) for name, path in files.templates.items()},
        "api": _relative(files.api, folder),
        "workload": _reference(files.workload, folder),
    }
    if files.invariants:
        app["invariants"] = [_reference(r, folder) for r in files.invariants]
    return app


def _relocated(entry: dict[str, Any], experiment: Experiment, folder: Path) -> dict[str, Any]:
    """A template update's source named relative to ``folder`` (it was relative to the original file)."""
    if entry.get("kind") != "template-update" or "source" not in entry:
        return entry
    from .runner import update_source

    return {**entry, "source": _relative(update_source(entry["source"], experiment).resolve(), folder)}
