"""What watching costs: the same simulation with no views, and with the oplog view, the cluster
view and the recovery progress watching it (kernel side; no browser attached), side by side,
repeated and interleaved so that a noisy machine hits both alike.

    .venv/bin/python bench/bench_widgets.py            # 3 rounds
    .venv/bin/python bench/bench_widgets.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from golemsim.sim.experiment import load_experiment
from golemsim.sim.runner import run_experiment, templates_for
from golemsim.widgets import ClusterView, OplogView, RecoveryProgress

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    experiment = load_experiment(ROOT / "experiments" / "checkout-crash.yaml")
    registry = templates_for(("checkout",))
    times: dict[str, list[float]] = {"no views": [], "three views": []}
    digests: set[str] = set()
    events = 0
    for _ in range(args.rounds):
        for name in times:
            views = [] if name == "no views" else [OplogView(), ClusterView(), RecoveryProgress()]
            started = time.perf_counter()
            result = run_experiment(experiment, registry=registry, observers=views)
            times[name].append(time.perf_counter() - started)
            digests.add(result.trace_digest)
            events = result.cluster.trace.count
    base = statistics.median(times["no views"])
    print(f"checkout-crash.yaml (seed 1, {events} trace events), median of {args.rounds} interleaved rounds")
    print(f"{'run':<12} {'wall s':>8} {'ratio':>6}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<12} {median:>8.2f} {median / base:>6.2f}")
    print("same trace hash with and without views:", len(digests) == 1)


if __name__ == "__main__":
    main()
