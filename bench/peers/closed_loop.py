"""A closed-loop load of N client threads for a fixed time (stdlib only, so both venvs import it).

Used by bench/bench_scaleout.py for the HTTP clients of golemsim and by dbos_scaleout.py for
DBOS: every thread calls ``call(thread, i)`` back to back; calls that end during the warm-up
are not counted, calls that start in the measured window and end in it are.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def closed_loop(
    call: Callable[[int, int], bool], clients: int, warmup: float, seconds: float, prime: int = 0
) -> dict[str, Any]:
    """Run ``clients`` threads; ``call`` returns True on success. ``prime`` calls per thread are
    made before the warm-up clock starts (to create each thread's workers). Returns throughput
    (successful calls a second of the measured window), p50 and p99 in ms, and the error count."""
    ready = threading.Barrier(clients + 1)
    bounds: dict[str, float] = {}
    results: list[tuple[list[float], int, int]] = [([], 0, 0)] * clients

    def run(t: int) -> None:
        i = 0
        for _ in range(prime):
            call(t, i)
            i += 1
        ready.wait()
        ready.wait()  # the main thread has set the window
        start, end = bounds["start"], bounds["end"]
        latencies: list[float] = []
        ok = errors = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= end:
                break
            success = call(t, i)
            i += 1
            t1 = time.perf_counter()
            if t0 >= start and t1 <= end:
                if success:
                    ok += 1
                    latencies.append(t1 - t0)
                else:
                    errors += 1
        results[t] = (latencies, ok, errors)

    threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    now = time.perf_counter()
    bounds.update(start=now + warmup, end=now + warmup + seconds)
    ready.wait()
    for thread in threads:
        thread.join()
    latencies = [x for lat, _, _ in results for x in lat]
    ok = sum(r[1] for r in results)
    return {
        "per_s": ok / seconds,
        "p50_ms": statistics.median(latencies) * 1e3 if latencies else float("nan"),
        "p99_ms": percentile(latencies, 0.99) * 1e3,
        "count": ok,
        "errors": sum(r[2] for r in results),
    }
