"""Benchmark of the durable executor core; prints one table, all figures from one run.

    python bench/bench_core.py [--quick]

Rows: a "3-step" function (three external calls to an in-process no-op service) as a
durable invocation on SQLite with fsync and on the in-memory store, at 1 and 16 concurrent
workers; the same function called bare in wasmtime (no oplog) for the durability overhead
ratio; replay speed and recovery time of a worker with about 10,000 oplog entries.
Ratios compare rows of the same run, so a noisy machine shifts them less than absolute figures.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bare import bare_call_times  # bench/bare.py: the yardstick shared with bench_sim
from peers.workload import percentile  # bench/peers/: shared with the peer drivers

from golemsim import Executor, ServiceRegistry, build_template
from golemsim.core.engine import WASMTIME_VERSION, Engine

TESTKIT = Path(__file__).resolve().parent.parent / "tests" / "templates" / "testkit"


class NoopService:
    """An in-process service that does nothing (outside golemsim: it stands for a fast peer)."""

    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any:
        return None


def durable_run(ex: Executor, workers: int, per_worker: int, tag: str) -> tuple[list[float], float]:
    """Invoke three-steps per_worker times on each of `workers` workers in parallel threads."""
    for w in range(workers):  # warm: create and instantiate each worker
        ex.invoke("testkit", f"{tag}-{w}", "three-steps", ["warm"])
    latencies: list[float] = []
    lock = threading.Lock()

    def run(w: int) -> None:
        mine = []
        for i in range(per_worker):
            start = time.perf_counter()
            ex.invoke("testkit", f"{tag}-{w}", "three-steps", [f"{i}"])
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, len(latencies) / (time.perf_counter() - start)


def bare_run(wasm: Path, calls: int) -> list[float]:
    """The same component and function in plain wasmtime, host functions doing nothing."""
    return bare_call_times(wasm, "three-steps", lambda i: [str(i)], calls)


def cached_load(wasm: Path, repeats: int = 5) -> list[float]:
    """Seconds to load the compiled component from the on-disk cache in a fresh engine."""
    data = wasm.read_bytes()
    Engine().compile(data)  # make sure it is cached
    samples = []
    for _ in range(repeats):
        engine = Engine()
        start = time.perf_counter()
        engine.compile(data)
        samples.append(time.perf_counter() - start)
    return samples


def replay_run(wasm: Path, target_entries: int) -> tuple[int, int, float]:
    """Build a worker with ~target_entries oplog entries, then time its recovery by replay."""
    with tempfile.TemporaryDirectory() as tmp:
        services = ServiceRegistry({"noop": NoopService()})
        ex = Executor.open(Path(tmp) / "replay.db", services=services, fsync=False)
        ex.deploy(wasm, name="testkit")
        while len(ex.oplog("testkit/long")) < target_entries:
            for _ in range(100):
                ex.invoke("testkit", "long", "three-steps", ["x"])
        entries = ex.oplog("testkit/long")
        host_calls = sum(1 for _, e in entries if e.kind in ("host-call", "begin-remote-write"))
        start = time.perf_counter()
        ex.restart_worker("testkit/long")
        seconds = time.perf_counter() - start
        ex.close()
    return len(entries), host_calls, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer invocations (a smoke run)")
    args = parser.parse_args()
    seq, conc, entries = (100, 30, 2_000) if args.quick else (500, 100, 10_000)

    wasm = build_template(TESTKIT).wasm_path
    rows: list[tuple[str, str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, tuple[list[float], float]] = {}
        for store_name in ("sqlite+fsync", "memory"):
            path = Path(tmp) / "bench.db" if store_name != "memory" else ":memory:"
            services = ServiceRegistry({"noop": NoopService()})
            with Executor.open(path, services=services, max_live_instances=32) as ex:
                ex.deploy(wasm, name="testkit")
                results[f"{store_name} 1"] = durable_run(ex, 1, seq, "seq")
                results[f"{store_name} 16"] = durable_run(ex, 16, conc, "conc")
    bare = bare_run(wasm, seq)
    load_seconds = cached_load(wasm)
    bare_p50 = statistics.median(bare)
    for name, (latencies, throughput) in results.items():
        store_name, workers = name.split()
        p50 = statistics.median(latencies)
        rows.append(
            (
                f"durable 3-step, {store_name}, {workers} worker(s)",
                f"{p50 * 1e3:.2f}",
                f"{percentile(latencies, 0.99) * 1e3:.2f}",
                f"{throughput:,.0f}",
                f"{p50 / bare_p50:.1f}x bare",
            )
        )
    rows.append(
        (
            "bare wasmtime call, same component",
            f"{bare_p50 * 1e3:.3f}",
            f"{percentile(bare, 0.99) * 1e3:.3f}",
            f"{1 / bare_p50:,.0f}",
            "1.0x",
        )
    )
    rows.append(
        (
            "load a compiled component from the cache",
            f"{statistics.median(load_seconds) * 1e3:.0f}",
            "",
            "",
            f"{wasm.stat().st_size / 1e6:.0f} MB component",
        )
    )
    count, host_calls, seconds = replay_run(wasm, entries)
    rows.append(
        (
            f"recovery of a worker with {count:,} entries",
            f"{seconds * 1e3:.0f}",
            "",
            "",
            f"{host_calls / seconds:,.0f} host-call entries/s replayed",
        )
    )

    print(f"golemsim core benchmark — {platform.machine()}, {platform.python_version()}, wasmtime {WASMTIME_VERSION}")
    header = ("measure", "p50 ms", "p99 ms", "per second", "ratio / note")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
