"""Benchmark of the durable executor core; prints one table, all figures from one run.

    python bench/bench_core.py [--quick] [--modes fast,wasmtime-py]

Rows: a "3-step" function (three external calls to an in-process no-op service) as a
durable invocation on SQLite with fsync and on the in-memory store, at 1 and 16 concurrent
workers; the same function called bare in wasmtime (no oplog) for the durability overhead
ratio; replay speed and recovery time of a worker with about 10,000 oplog entries.
Ratios compare rows of the same run, so a noisy machine shifts them less than absolute figures.

Each durable and replay row runs once per mode, the modes alternating: ``fast`` is golemsim's
own calls into wasmtime (golemsim.core.fast_calls: type views read once, list<u8> in one copy,
one linker per component), ``wasmtime-py`` is wasmtime-py's component API as it is. The bare
call is measured both ways too; durable rows are compared with the bare call of their mode.
"""

from __future__ import annotations

import argparse
import ctypes
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import wasmtime
from bare import bare_call_times  # bench/bare.py: the yardstick shared with bench_sim
from peers.workload import percentile  # bench/peers/: shared with the peer drivers
from wasmtime import _ffi as ffi

from golemsim import Executor, ServiceRegistry, build_template
from golemsim.core import fast_calls
from golemsim.core.durable_host import HOST_INTERFACE
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


def _answer(answer: Any) -> Any:
    return lambda _store, *_args: answer


class _NoopHost:
    """fast_calls.HostTarget for the bare call: golemsim's host interface, each function doing nothing."""

    def __init__(self, functions: list[tuple[str, str]]) -> None:
        answers: dict[str, Any] = {"call-service": "null", "new-idempotency-key": "key"}
        self.host_functions = [_answer(answers.get(name)) for _interface, name in functions]

    def host_call_failed(self, error: BaseException) -> None:
        raise error


def bare_fast_run(wasm: Path, calls: int) -> list[float]:
    """bare_run through golemsim.core.fast_calls instead of wasmtime-py's own conversions."""
    engine = Engine()
    component = engine.compile(wasm.read_bytes())
    host = component.type.imports(engine.wasmtime)[HOST_INTERFACE].ty.exports(engine.wasmtime)
    functions = [
        (HOST_INTERFACE, name) for name, item in host.items() if isinstance(item.ty, wasmtime.component.FuncType)
    ]
    component_calls = fast_calls.component_calls(engine.wasmtime, component, functions)
    store = wasmtime.Store(engine.wasmtime)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_fuel(2**62)
    store.set_epoch_deadline(2**62)
    target = _NoopHost(functions)
    instance = component_calls.instantiate(store, component, target)
    func = component_calls.export(instance, store, "three-steps")
    assert func is not None
    samples = []
    for i in range(calls + 20):
        start = time.perf_counter()
        func(store, str(i))
        func.post_return(store)
        samples.append(time.perf_counter() - start)
    return samples[20:]


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


MODES = {"fast": True, "wasmtime-py": False}
"""Benchmark mode -> whether golemsim.core.fast_calls is on."""


def first_invocations(wasm: Path, mode: str, workers: int) -> list[float]:
    """Seconds for each new worker's first 3-step invocation (memory store): instantiating the
    component, CPython's first-call reseed inside the guest (2.5 KB of randomness through
    wasi:random as list<u8>), and the invocation itself."""
    fast_calls.set_enabled(MODES[mode])
    samples = []
    with Executor.open(":memory:", services=ServiceRegistry({"noop": NoopService()}), max_live_instances=8) as ex:
        ex.deploy(wasm, name="testkit")
        ex.invoke("testkit", "warm", "three-steps", ["warm"])
        for w in range(workers):
            start = time.perf_counter()
            ex.invoke("testkit", f"first-{w}", "three-steps", ["x"])
            samples.append(time.perf_counter() - start)
    fast_calls.set_enabled(True)
    return samples


def lower_bytes_times(repeats: int = 200) -> dict[str, float]:
    """Median seconds to lower 2,496 bytes as a list<u8> (the guest's reseed), each way."""
    ty = next(iter(_bytes_type()))
    value = bytes(range(256)) * 9 + bytes(192)
    ways = {"fast": fast_calls.lowerer(ty), "wasmtime-py": lambda v, dst: ty.convert_to_c(None, v, ctypes.pointer(dst))}
    medians = {}
    for mode, lower in ways.items():
        samples = []
        for _ in range(repeats):
            dst = ffi.wasmtime_component_val_t()
            start = time.perf_counter()
            lower(value, dst)
            samples.append(time.perf_counter() - start)
            ffi.wasmtime_component_val_delete(ctypes.byref(dst))
        medians[mode] = statistics.median(samples)
    return medians


def _bytes_type() -> Iterator[Any]:
    """wasi:random/random's get-random-bytes result type (list<u8>), from the testkit component."""
    engine = Engine()
    component = engine.compile(build_template(TESTKIT).wasm_path.read_bytes())
    for name, item in component.type.imports(engine.wasmtime).items():
        if name.startswith("wasi:random/random@"):
            yield item.ty.exports(engine.wasmtime)["get-random-bytes"].ty.result


def durable_rows(wasm: Path, mode: str, seq: int, conc: int) -> dict[str, tuple[list[float], float]]:
    """The four durable rows (sqlite+fsync and memory, 1 and 16 workers) in one mode."""
    fast_calls.set_enabled(MODES[mode])
    results: dict[str, tuple[list[float], float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for store_name in ("sqlite+fsync", "memory"):
            path = Path(tmp) / "bench.db" if store_name != "memory" else ":memory:"
            services = ServiceRegistry({"noop": NoopService()})
            with Executor.open(path, services=services, max_live_instances=32) as ex:
                ex.deploy(wasm, name="testkit")
                results[f"{store_name} 1"] = durable_run(ex, 1, seq, "seq")
                results[f"{store_name} 16"] = durable_run(ex, 16, conc, "conc")
    fast_calls.set_enabled(True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer invocations (a smoke run)")
    parser.add_argument("--modes", default="fast,wasmtime-py", help="comma-separated: fast, wasmtime-py")
    args = parser.parse_args()
    seq, conc, entries = (100, 30, 2_000) if args.quick else (500, 100, 10_000)
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        parser.error(f"unknown mode(s) {sorted(unknown)}; choose from {sorted(MODES)}")

    wasm = build_template(TESTKIT).wasm_path
    rows: list[tuple[str, str, str, str, str]] = []
    results = {mode: durable_rows(wasm, mode, seq, conc) for mode in modes}
    bare = {"fast": bare_fast_run(wasm, seq), "wasmtime-py": bare_run(wasm, seq)}
    load_seconds = cached_load(wasm)
    firsts = {mode: first_invocations(wasm, mode, 20 if args.quick else 60) for mode in modes}
    lowering = lower_bytes_times()
    bare_p50 = {mode: statistics.median(samples) for mode, samples in bare.items()}
    for mode in modes:
        for name, (latencies, throughput) in results[mode].items():
            store_name, workers = name.split()
            p50 = statistics.median(latencies)
            rows.append(
                (
                    f"[{mode}] durable 3-step, {store_name}, {workers} worker(s)",
                    f"{p50 * 1e3:.2f}",
                    f"{percentile(latencies, 0.99) * 1e3:.2f}",
                    f"{throughput:,.0f}",
                    f"{p50 / bare_p50[mode]:.1f}x bare [{mode}]",
                )
            )
    for mode, samples in bare.items():
        rows.append(
            (
                f"[{mode}] bare wasmtime call, same component",
                f"{bare_p50[mode] * 1e3:.3f}",
                f"{percentile(samples, 0.99) * 1e3:.3f}",
                f"{1 / bare_p50[mode]:,.0f}",
                f"{bare_p50[mode] / bare_p50['wasmtime-py']:.2f}x bare [wasmtime-py]",
            )
        )
    for mode in modes:
        rows.append(
            (
                f"[{mode}] new worker's first 3-step invocation, memory",
                f"{statistics.median(firsts[mode]) * 1e3:.2f}",
                f"{percentile(firsts[mode], 0.99) * 1e3:.2f}",
                f"{1 / statistics.median(firsts[mode]):,.0f}",
                "instantiate + CPython's reseed + the call",
            )
        )
    for mode, seconds in lowering.items():
        rows.append(
            (
                f"[{mode}] lower 2,496 bytes as list<u8>",
                f"{seconds * 1e3:.3f}",
                "",
                "",
                f"{seconds / lowering['fast']:.0f}x [fast]",
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
    for mode in modes:
        fast_calls.set_enabled(MODES[mode])
        count, host_calls, seconds = replay_run(wasm, entries)
        fast_calls.set_enabled(True)
        rows.append(
            (
                f"[{mode}] recovery of a worker with {count:,} entries",
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
