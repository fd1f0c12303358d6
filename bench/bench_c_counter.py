"""The counter template in Python (componentize-py) next to the same counter in C; one table, one run.

    python bench/bench_c_counter.py [--instances N]

Needs both built: `bash .ci/setup.sh` (or `golemsim build templates/counter` and
`bash templates/counter-c/build.sh`). Rows: component size; compiling it once (a fresh cache, as
after a change of sources or of wasmtime); loading the compiled code from the cache in a fresh
engine; instantiating (median over N instances kept alive, in plain wasmtime) and the memory each
live instance adds (RSS growth / N); a durable increment on an in-memory Executor (a new worker's
first one, which instantiates it, and the median of later ones).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import component as wc

from golemsim import Executor, build_template
from golemsim.core.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
HOST = "golemsim:host/durable@0.1.0"


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def compile_times(data: bytes) -> tuple[float, float, Any, Engine]:
    """Seconds to compile with an empty cache, then to load from that cache in a fresh engine."""
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        Engine(Path(cache)).compile(data)
        cold = time.perf_counter() - start
        engine = Engine(Path(cache))
        start = time.perf_counter()
        component = engine.compile(data)
        warm = time.perf_counter() - start
    return cold, warm, component, engine


def instantiate(engine: Engine, component: Any, count: int) -> tuple[float, float]:
    """Median seconds per instantiation and bytes of RSS per live instance, over `count` instances."""
    linker = wc.Linker(engine.wasmtime)
    linker.allow_shadowing = True
    linker.add_wasip2()
    imports = component.type.imports(engine.wasmtime)
    if HOST in imports:  # the Python counter links golemsim's host interface (it never calls it)
        with linker.root() as root, root.add_instance(HOST) as durable:
            for name in imports[HOST].ty.exports(engine.wasmtime):
                durable.add_func(name, lambda _s, *_a: None)
    live, samples = [], []
    gc.collect()
    before = rss_bytes()
    for _ in range(count):
        start = time.perf_counter()
        store = wasmtime.Store(engine.wasmtime)
        store.set_wasi(wasmtime.WasiConfig())
        store.set_fuel(2**62)
        store.set_epoch_deadline(2**62)
        instance = linker.instantiate(store, component)
        func = instance.get_func(store, "increment")
        func(store, 1)  # touch it: an instance that has run once, as a live worker has
        func.post_return(store)
        samples.append(time.perf_counter() - start)
        live.append((store, instance))
    grown = rss_bytes() - before
    return statistics.median(samples), grown / count


def durable_increments(wasm: Path, workers: int, calls: int) -> tuple[float, float]:
    """Median seconds of a new worker's first increment and of later increments (in-memory Executor)."""
    with Executor.open() as ex:
        ex.deploy(wasm, name="counter")
        first = []
        for w in range(workers):
            start = time.perf_counter()
            ex.invoke("counter", f"c{w}", "increment", [1])
            first.append(time.perf_counter() - start)
        later = []
        for i in range(calls):
            start = time.perf_counter()
            ex.invoke("counter", f"c{i % workers}", "increment", [1])
            later.append(time.perf_counter() - start)
    return statistics.median(first), statistics.median(later)


def measure(folder: Path, instances: int) -> dict[str, float]:
    wasm = build_template(folder).wasm_path
    data = wasm.read_bytes()
    cold, warm, component, engine = compile_times(data)
    per_instance, memory = instantiate(engine, component, instances)
    first, later = durable_increments(wasm, 10, 500)
    return {
        "component size (KB)": len(data) / 1024,
        "compile once, empty cache (ms)": cold * 1e3,
        "load compiled from cache (ms)": warm * 1e3,
        "instantiate + first call, plain wasmtime (µs)": per_instance * 1e6,
        "memory per live instance (KB)": memory / 1024,
        "durable: new worker's first increment (µs)": first * 1e6,
        "durable: increment, p50 (µs)": later * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=50, help="live instances per template (default 50)")
    args = parser.parse_args()
    python = measure(ROOT / "templates" / "counter", args.instances)
    c = measure(ROOT / "templates" / "counter-c", args.instances)
    print(f"| counter template ({args.instances} live instances each) | Python | C | Python / C |")
    print("|---|---:|---:|---:|")
    for row, py_value in python.items():
        c_value = c[row]
        ratio = f"{py_value / c_value:,.0f}x" if c_value > 0 else "—"
        print(f"| {row} | {py_value:,.1f} | {c_value:,.1f} | {ratio} |")


if __name__ == "__main__":
    main()
