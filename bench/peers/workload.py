"""The timed part of both drivers (stdlib only, so the DBOS driver's own venv can import it):
sequential latency and throughput, then throughput from concurrent threads, and the step log
of the crash scenario."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed_workload(
    sequential: Callable[[int], Any], concurrent: Callable[[int, int], Any], seq: int, threads: int, per_thread: int
) -> dict[str, float]:
    """Call ``sequential(i)`` ``seq`` times one after another, then ``concurrent(t, i)`` from
    ``threads`` threads, ``per_thread`` times each; medians and rates of both."""
    latencies = []
    start = time.perf_counter()
    for i in range(seq):
        t0 = time.perf_counter()
        sequential(i)
        latencies.append(time.perf_counter() - t0)
    seq_seconds = time.perf_counter() - start

    def run(t: int) -> None:
        for i in range(per_thread):
            concurrent(t, i)

    pool = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    start = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    conc_seconds = time.perf_counter() - start
    return {
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "seq_per_s": seq / seq_seconds,
        "conc_per_s": threads * per_thread / conc_seconds,
    }


def log_step(steps_file: Path, step: str) -> None:
    """Append a step's name to the crash scenario's log, fsync'd, so a SIGKILL cannot lose it."""
    with steps_file.open("a") as out:
        out.write(step + "\n")
        out.flush()
        os.fsync(out.fileno())
