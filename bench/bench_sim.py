"""The virtual cluster's speed and memory: simulated invocations per wall-second and peak
memory at 1,000 and 10,000 workers with node crashes, next to the raw wasmtime call rate
of the same component measured in the same run.

    .venv/bin/python bench/bench_sim.py            # 1k workers / 10k invocations, 10k / 30k (~10 min)
    .venv/bin/python bench/bench_sim.py --quick    # 1k / 3k, 10k / 10k
    .venv/bin/python bench/bench_sim.py --scale    # 10k / 100k: the scale target (~25 min)
    .venv/bin/python bench/bench_sim.py --calls [--rounds 3]   # checkout-crash, fast calls on and off

Each size runs in a fresh process, so its peak memory (max RSS) is its own. ``--calls`` runs
experiments/checkout-crash.yaml (workers only) with golemsim.core.fast_calls on and off
(GOLEMSIM_FAST_CALLS=1 / 0), each run in a fresh process, the two alternating, and prints
the wall times with their trace digests (which must be the same).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bare import bare_call_times  # bench/bare.py

from golemsim import build_template

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

EXPERIMENT = """
name: counters at scale ({workers} workers, {invocations} invocations)
app: counter
seed: 1
store: {store}
check_limit: 100
max_duration: 100000
cluster: {{nodes: 4, shards: 16, max_live_per_node: 32}}
workload: {{mode: open, rate: 400, operations: {invocations}, keys: {workers},
           distribution: zipf, zipf_s: 0.6, timeout: 30}}
faults:
  - {{at: 4.0, kind: crash, target: node-2, duration: 3}}
random_faults: {{rates: {{crash: 6}}, start: 8, mean_duration: 3}}
"""


def one(workers: int, invocations: int, store: str) -> dict[str, object]:
    """Run one size in this process and report it."""
    from golemsim.sim.experiment import parse_experiment
    from golemsim.sim.runner import run_experiment

    experiment = parse_experiment(EXPERIMENT.format(workers=workers, invocations=invocations, store=store))
    with tempfile.TemporaryDirectory(prefix="golemsim-bench-sim-") as folder:  # its own, whoever else runs
        started = time.perf_counter()
        result = run_experiment(experiment, out=Path(folder) if store == "sqlite" else None)
        wall = time.perf_counter() - started
    summary = result.summary
    return {
        "workers": workers,
        "invocations": invocations,
        "wall_s": round(wall, 2),
        "simulated_s": summary["simulated_seconds"],
        "invocations_per_wall_s": round(summary["acknowledged"] / wall, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "workers_with_oplog": summary["workers"],
        "crashes": summary["counters"].get("crashes", 0),
        "rebuilds": summary["recoveries"],
        "valid": result.valid,
    }


CHECKOUT = ROOT / "experiments" / "checkout-crash.yaml"


def one_experiment(path: Path) -> dict[str, object]:
    """Run one experiment file (workers only) in this process and report its wall time and digest."""
    from golemsim.core import fast_calls
    from golemsim.sim.experiment import load_experiment
    from golemsim.sim.runner import run_experiment

    experiment = load_experiment(path)
    started = time.perf_counter()
    result = run_experiment(experiment, variant="workers")
    wall = time.perf_counter() - started
    return {
        "fast_calls": fast_calls.enabled(),
        "wall_s": round(wall, 2),
        "digest": result.trace_digest,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def compare_calls(rounds: int) -> None:
    """checkout-crash with fast calls on and off, alternating, each run in a fresh process."""
    runs: dict[str, list[dict[str, object]]] = {"1": [], "0": []}
    for _ in range(rounds):
        for flag in ("1", "0"):
            done = subprocess.run(
                [sys.executable, __file__, "--experiment", str(CHECKOUT)],
                check=True,
                capture_output=True,
                text=True,
                cwd=ROOT,
                env={**os.environ, "GOLEMSIM_FAST_CALLS": flag},
            )
            runs[flag].append(json.loads(done.stdout.strip().splitlines()[-1]))
    machine = f"{platform.machine()}, Python {platform.python_version()}"
    print(f"# {CHECKOUT.name}, workers only ({machine}), {rounds} round(s)")
    print("| calls | wall s (each run) | median wall s | peak RSS MB | trace digest |")
    print("|---|---|---|---|---|")
    for flag, label in (("0", "wasmtime-py"), ("1", "fast_calls")):
        walls = [float(str(r["wall_s"])) for r in runs[flag]]
        digests = ", ".join(sorted({str(r["digest"])[:16] for r in runs[flag]}))
        rss = max(int(str(r["peak_rss_mb"])) for r in runs[flag])
        each = ", ".join(f"{w:.2f}" for w in walls)
        print(f"| {label} | {each} | {statistics.median(walls):.2f} | {rss} | {digests} |")
    slow = statistics.median(float(str(r["wall_s"])) for r in runs["0"])
    fast = statistics.median(float(str(r["wall_s"])) for r in runs["1"])
    same = {r["digest"] for r in runs["0"]} == {r["digest"] for r in runs["1"]}
    print(f"\nwasmtime-py / fast_calls: {slow / fast:.2f}x; trace digests {'identical' if same else 'DIFFER'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true")
    size.add_argument("--scale", action="store_true")
    parser.add_argument("--store", choices=("sqlite", "memory"), default="sqlite")
    size.add_argument("--calls", action="store_true", help="checkout-crash with fast calls on and off")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --calls (each: one run per mode)")
    parser.add_argument("--one", nargs=2, type=int, metavar=("WORKERS", "INVOCATIONS"), help=argparse.SUPPRESS)
    parser.add_argument("--experiment", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.store)))
        return
    if args.experiment:
        print(json.dumps(one_experiment(args.experiment)))
        return
    if args.calls:
        compare_calls(args.rounds)
        return
    sizes = [(1_000, 10_000), (10_000, 30_000)]
    if args.quick:
        sizes = [(1_000, 3_000), (10_000, 10_000)]
    elif args.scale:
        sizes = [(10_000, 100_000)]
    wasm = build_template(ROOT / "templates" / "counter").wasm_path
    bare = statistics.median(bare_call_times(wasm, "increment", lambda i: [1], 2_000))
    bare_rate = 1 / bare
    rows = []
    for workers, invocations in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(workers), str(invocations), "--store", args.store],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"# golemsim virtual cluster ({platform.machine()}, Python {platform.python_version()}, store {args.store})")
    print(f"raw wasmtime call rate of counter.increment: {bare_rate:,.0f} calls/s (median {bare * 1e6:.0f} us)\n")
    columns = "workers", "invocations", "wall s", "sim s", "inv/wall-s", "ratio to raw call", "peak RSS MB"
    header = "| " + " | ".join((*columns, "crashes", "rebuilds", "valid")) + " |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for r in rows:
        ratio = float(r["invocations_per_wall_s"]) / bare_rate  # type: ignore[arg-type]
        print(
            f"| {r['workers']:,} | {r['invocations']:,} | {r['wall_s']} | {r['simulated_s']} | "
            f"{r['invocations_per_wall_s']} | 1/{1 / ratio:,.0f} | {r['peak_rss_mb']} | {r['crashes']} | "
            f"{r['rebuilds']} | {r['valid']} |"
        )


if __name__ == "__main__":
    main()
