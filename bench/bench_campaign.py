"""Seed campaigns on Dask: seeds per hour of experiments/checkout-crash.yaml (durable workers only)
with a local Dask cluster of 1 and of 2 worker processes, side by side.

    .venv/bin/python bench/bench_campaign.py              # seeds 1-6 with 1 worker, then with 2
    .venv/bin/python bench/bench_campaign.py --seeds 20   # more seeds: the start-up weighs less
    .venv/bin/python bench/bench_campaign.py --workers 2  # one size only

The wall time of a campaign includes starting the Dask cluster and each worker process loading the
templates once (from the compiled cache), as `golemsim sim campaign` pays them; the mean wall time
and CPU time of one run (measured inside the workers) are reported next to it, with the machine's
1-minute load average before and after: on a shared 2-core machine a second worker only helps when
a core is free. Needs the campaign extra (`pip install 'golemsim[campaign]'`; `bash .ci/setup.sh`
installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from golemsim.sim.campaign import run_campaign

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "checkout-crash.yaml"


def measure(seeds: list[int], workers: int, experiment: Path) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="golemsim-bench-campaign-") as folder:
        started = time.perf_counter()
        campaign = run_campaign(experiment, seeds, workers=workers, out=Path(folder))
        wall = time.perf_counter() - started
    runs = [o.wall_seconds for o in campaign.outcomes if o.wall_seconds]
    cpu = [o.cpu_seconds for o in campaign.outcomes if o.cpu_seconds]
    return {
        "workers": workers,
        "seeds": len(seeds),
        "wall_s": round(wall, 1),
        "seeds_per_hour": round(3600 * len(seeds) / wall),
        "mean_run_s": round(statistics.mean(runs), 2) if runs else None,
        "mean_run_cpu_s": round(statistics.mean(cpu), 2) if cpu else None,
        "load": f"{load_before:.1f} / {os.getloadavg()[0]:.1f}",
        "valid": sum(o.valid for o in campaign.outcomes),
        "digests": [o.trace_digest[:12] for o in campaign.outcomes],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=6, help="seeds 1..N (default 6)")
    parser.add_argument("--workers", type=int, action="append", help="cluster sizes to measure (default: 1 and 2)")
    parser.add_argument("--experiment", type=Path, default=EXPERIMENT)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    rows: list[dict[str, Any]] = []
    for workers in args.workers or [1, 2]:
        print(f"==> {len(seeds)} seeds of {args.experiment.name} on {workers} Dask worker(s)", file=sys.stderr)
        rows.append(measure(seeds, workers, args.experiment))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print()
    print("| Dask workers | seeds | wall s | seeds / hour | run: wall s | run: CPU s | load before / after | valid |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['workers']} | {row['seeds']} | {row['wall_s']} | {row['seeds_per_hour']:,} | "
            f"{row['mean_run_s']} | {row['mean_run_cpu_s']} | {row['load']} | {row['valid']} of {row['seeds']} |"
        )
    if len({tuple(row["digests"]) for row in rows}) > 1:
        print("\nWARNING: the trace digests differ between cluster sizes (they must not)")
        return 1
    print("\nThe same trace digest for every seed with each cluster size.")
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
