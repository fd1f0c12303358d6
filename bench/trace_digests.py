"""Print the trace sha256 of every shipped experiment (workers and, where run, the lambdas).

A refactor that must keep behaviour identical keeps every line of this output the same:

    .venv/bin/python bench/trace_digests.py > before.txt   # on the old commit
    .venv/bin/python bench/trace_digests.py > after.txt    # on the new one
    diff before.txt after.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

from golemsim.sim.experiment import load_experiment
from golemsim.sim.runner import run_experiment

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SLOW = {"counter-scale"}
"""Left out unless named: the 10,000-worker scale run takes about 40 minutes."""


def main(names: list[str]) -> None:
    paths = [EXPERIMENTS / f"{name}.yaml" for name in names]
    paths = paths or [path for path in sorted(EXPERIMENTS.glob("*.yaml")) if path.stem not in SLOW]
    for path in paths:
        experiment = load_experiment(path)
        variants = ["workers", "lambda"] if experiment.lambda_baseline else ["workers"]
        for variant in variants:
            result = run_experiment(experiment, variant=variant)
            print(f"{path.stem:32} {variant:8} seed {result.seed:<4} {result.trace_digest}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
