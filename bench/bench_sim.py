"""The virtual cluster's speed and memory: simulated invocations per wall-second and peak
memory at 1,000 and 10,000 workers with node crashes, next to the raw wasmtime call rate
of the same component measured in the same run.

    .venv/bin/python bench/bench_sim.py            # 1k workers / 10k invocations, 10k / 30k
    .venv/bin/python bench/bench_sim.py --quick    # 1k / 3k, 10k / 10k
    .venv/bin/python bench/bench_sim.py --scale    # 10k / 100k: the scale target
    .venv/bin/python bench/bench_sim.py --calls [--rounds 3]   # checkout-crash, fast calls on and off

Every size runs three ways, side by side: the Python counter (componentize-py) with the old
budget of 32 live instances per node, and the Python and C counters (templates/counter-c) each
with a budget set by its real memory per live instance (about 0.6 MB for Python, 0.05 MB for C):
``--live`` (500 per node) and ``--live-c`` (2,500 per node).
Each run is a fresh process pinned to one CPU (as ``golemsim sim run`` is), so its peak memory is
its own. Memory is reported two ways: max RSS counts the compiled image mapped into each live
instance again and again; peak PSS (sampled from /proc/self/smaps_rollup) counts each page once,
which is the real memory the run needs. ``--calls`` runs
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
import threading
import time
from pathlib import Path

from bare import bare_call_times  # bench/bare.py

from golemsim import build_template

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

EXPERIMENT = """
name: counters at scale ({workers} workers, {invocations} invocations)
app:
  templates: {{counter: {template}}}
  api: {root}/templates/counter.api.yaml
  workload: golemsim.sim.workloads:CounterWorkload
seed: 1
store: {store}
check_limit: 100
max_duration: 100000
cluster: {{nodes: 4, shards: 16, max_live_per_node: {live}}}
workload: {{mode: open, rate: 400, operations: {invocations}, keys: {workers},
           distribution: zipf, zipf_s: 0.6, timeout: 30}}
faults:
  - {{at: 4.0, kind: crash, target: node-2, duration: 3}}
random_faults: {{rates: {{crash: 6}}, start: 8, mean_duration: 3}}
"""


TEMPLATES = {"python": ROOT / "templates" / "counter", "c": ROOT / "templates" / "counter-c"}
OLD_LIVE = 32
"""The live budget per node this benchmark used before it measured real memory (RSS-based)."""


class PeakPss:
    """Samples this process's PSS (proportional set size: each page counted once) while it runs."""

    def __init__(self, every: float = 0.25) -> None:
        self.peak_mb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(every,), daemon=True)

    def _sample(self, every: float) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, pss_mb())
            self._stop.wait(every)

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, pss_mb())


def pss_mb() -> int:
    try:
        with open("/proc/self/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def one(workers: int, invocations: int, store: str, language: str, live: int) -> dict[str, object]:
    """Run one size in this process (pinned to one CPU) and report it."""
    from golemsim.sim.experiment import parse_experiment
    from golemsim.sim.one_cpu import pin_to_cpu
    from golemsim.sim.runner import run_experiment

    pin_to_cpu()
    text = EXPERIMENT.format(
        workers=workers, invocations=invocations, store=store, template=TEMPLATES[language], root=ROOT, live=live
    )
    experiment = parse_experiment(text)
    with tempfile.TemporaryDirectory(prefix="golemsim-bench-sim-") as folder, PeakPss() as pss:
        started = time.perf_counter()
        result = run_experiment(experiment, out=Path(folder) if store == "sqlite" else None)
        wall = time.perf_counter() - started
    summary = result.summary
    return {
        "language": language,
        "live": live,
        "workers": workers,
        "invocations": invocations,
        "wall_s": round(wall, 2),
        "simulated_s": summary["simulated_seconds"],
        "invocations_per_wall_s": round(summary["acknowledged"] / wall, 1),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "peak_pss_mb": pss.peak_mb,
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
    parser.add_argument("--live", type=int, default=500, help="live Python instances per node, by real memory")
    parser.add_argument("--live-c", type=int, default=2500, help="live C instances per node, by real memory")
    size.add_argument("--calls", action="store_true", help="checkout-crash with fast calls on and off")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of --calls (each: one run per mode)")
    one_size = ("WORKERS", "INVOCATIONS", "LANGUAGE", "LIVE")
    parser.add_argument("--one", nargs=4, metavar=one_size, help=argparse.SUPPRESS)
    parser.add_argument("--experiment", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        workers, invocations, language, live = args.one
        print(json.dumps(one(int(workers), int(invocations), args.store, language, int(live))))
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
    raw = {}
    for language, folder in TEMPLATES.items():
        wasm = build_template(folder).wasm_path
        raw[language] = 1 / statistics.median(bare_call_times(wasm, "increment", lambda i: [1], 2_000))
    ways = [("python", OLD_LIVE), ("python", args.live), ("c", args.live_c)]
    rows = []
    for workers, invocations in sizes:
        for language, live in ways:
            command = [sys.executable, __file__, "--one", str(workers), str(invocations), language, str(live)]
            done = subprocess.run(
                [*command, "--store", args.store], check=True, capture_output=True, text=True, cwd=ROOT
            )
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"# golemsim virtual cluster ({platform.machine()}, Python {platform.python_version()}, store {args.store})")
    for language, rate in raw.items():
        print(f"raw wasmtime call rate of the {language} counter.increment: {rate:,.0f} calls/s")
    print()
    columns = "counter", "live/node", "workers", "invocations", "wall s", "sim s", "inv/wall-s", "ratio to raw call"
    header = "| " + " | ".join((*columns, "peak PSS MB", "max RSS MB", "crashes", "rebuilds", "valid")) + " |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for r in rows:
        ratio = float(r["invocations_per_wall_s"]) / raw[str(r["language"])]  # type: ignore[arg-type]
        print(
            f"| {r['language']} | {r['live']} | {r['workers']:,} | {r['invocations']:,} | {r['wall_s']} | "
            f"{r['simulated_s']} | {r['invocations_per_wall_s']} | 1/{1 / ratio:,.0f} | {r['peak_pss_mb']} | "
            f"{r['peak_rss_mb']} | {r['crashes']} | {r['rebuilds']} | {r['valid']} |"
        )


if __name__ == "__main__":
    main()
