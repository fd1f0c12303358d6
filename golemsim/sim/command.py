"""What ``golemsim sim run EXPERIMENT.yaml --seed N --out DIR`` does: run, show progress, write results;
and ``golemsim sim campaign`` (many seeds on Dask) and ``golemsim sim shrink`` (a failing run's plan made small).

Exit code 0 when every checker of the durable workers says valid, 1 when one does not,
2 for a bad experiment file. The lambda baseline's verdicts are reported, not counted:
it is expected to fail under crashes, which is its point.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO


class ProgressBar:
    """One line on a terminal (redrawn), or a line per tenth elsewhere (logs, CI)."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty()
        self.shown = -1
        self.started = time.monotonic()

    def __call__(self, phase: str, fraction: float) -> None:
        percent = int(fraction * 100)
        elapsed = time.monotonic() - self.started
        if self.tty:
            bar = "#" * (percent // 4)
            self.stream.write(f"\r{self.label} [{bar:<25}] {percent:3d}% {phase} ({elapsed:.0f} s) ")
            self.stream.flush()
        elif percent // 10 != self.shown // 10 or not phase.startswith("running"):
            self.stream.write(f"{self.label}: {phase} {percent}% ({elapsed:.0f} s)\n")
        self.shown = percent

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


def run_from_cli(path: str, *, seed: int | None, out: str | None, baseline: bool) -> int:
    """Run an experiment file with a progress bar, write its results folder, print the report."""
    from .experiment import load_experiment
    from .one_cpu import pin_to_cpu
    from .results import write_results
    from .runner import experiment_templates, run_experiment

    experiment = load_experiment(path)
    pin_to_cpu()  # the run hands a baton between threads: cheaper on one core (golemsim.sim.one_cpu)
    seed = experiment.seed if seed is None else seed
    folder = Path(out) if out else Path("results") / f"{Path(path).stem}-seed{seed}"
    registry = experiment_templates(experiment)  # shared by both variants
    bar = ProgressBar(sys.stderr, f"{experiment.name} (workers)")
    result = run_experiment(experiment, seed=seed, out=folder, progress=bar, registry=registry)
    bar.done()
    lambdas = None
    if experiment.lambda_baseline and baseline:
        bar = ProgressBar(sys.stderr, f"{experiment.name} (lambda baseline)")
        lambdas = run_experiment(experiment, seed=seed, out=folder, progress=bar, variant="lambda", registry=registry)
        bar.done()
    written = write_results(folder, result, lambdas)
    print((folder / "report.md").read_text())
    print(f"results in {folder}/ ({_entries(folder, written)})")
    if not any(path.parent == folder / "plots" for path in written):
        print("plots skipped: matplotlib is not installed; to draw them: pip install 'golemsim[plots]'")
    return 0 if result.valid else 1


def _entries(folder: Path, written: list[Path]) -> str:
    """The results folder's entries, the report first: ``plots/`` only when matplotlib (an extra) drew them."""
    names = {path.relative_to(folder).parts[0] + ("/" if path.parent != folder else "") for path in written}
    return ", ".join(sorted(names, key=lambda name: (name != "report.md", name)))


def campaign_from_cli(path: str, *, seeds: str, workers: int | None, scheduler: str | None, out: str | None) -> int:
    """Run the seeds on Dask with a progress bar; print the summary and each failing seed's replay
    command. Exit 0 when every seed is valid, 1 when one is not, 2 for bad input or without Dask."""
    from .campaign import parse_seeds, run_campaign

    chosen = parse_seeds(seeds)
    bar = ProgressBar(sys.stderr, f"{Path(path).name}: {len(chosen)} seeds")

    def progress(done: int, total: int, invalid: int) -> None:
        bar(f"running, {done}/{total} runs, {invalid} invalid", done / total)

    campaign = run_campaign(path, chosen, workers=workers, scheduler=scheduler, out=out, progress=progress)
    bar.done()
    print(campaign.text())
    print(f"summary in {campaign.out}/ (campaign.md, campaign.json)")
    return 0 if campaign.valid else 1


def shrink_from_cli(folder: str, *, max_runs: int, checkers: list[str] | None) -> int:
    """Shrink a failing run's plan, one progress line per run on stderr; print before and after.
    Exit 0 when shrunk.yaml is written, 1 when the scripted plan did not fail again, 2 for bad input."""
    from .shrink import shrink

    def report(line: str) -> None:
        print(f"shrink: {line}", file=sys.stderr, flush=True)

    shrunk = shrink(folder, max_runs=max_runs, checkers=checkers or (), report=report)
    print(shrunk.text())
    return 0 if shrunk.reproduced else 1
