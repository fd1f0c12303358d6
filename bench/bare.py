"""A component's function called in plain wasmtime: no oplog, host functions doing nothing.

The yardstick the benchmarks divide by: what one call costs before golemsim adds anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import component as wc

from golemsim.core.engine import Engine

HOST = "golemsim:host/durable@0.1.0"


def bare_call_times(wasm: Path, function: str, args: Callable[[int], list[Any]], calls: int) -> list[float]:
    """Seconds per call of ``function(*args(i))`` on one plain instance (after 20 warm-up calls)."""
    engine = Engine()
    component = engine.compile(wasm.read_bytes())
    linker = wc.Linker(engine.wasmtime)
    linker.allow_shadowing = True
    linker.add_wasip2()
    host: dict[str, Callable[..., Any]] = {
        "call-service": lambda _s, *_a: "null",
        "new-idempotency-key": lambda _s: "key",
    }
    with linker.root() as root, root.add_instance(HOST) as durable:
        for name in component.type.imports(engine.wasmtime)[HOST].ty.exports(engine.wasmtime):
            durable.add_func(name, host.get(name, lambda _s, *_a: None))
    store = wasmtime.Store(engine.wasmtime)
    store.set_wasi(wasmtime.WasiConfig())
    store.set_fuel(2**62)
    store.set_epoch_deadline(2**62)
    instance = linker.instantiate(store, component)
    func = instance.get_func(store, function)
    assert func is not None, f"no export {function}"
    samples = []
    for i in range(calls + 20):
        start = time.perf_counter()
        func(store, *args(i))
        func.post_return(store)
        samples.append(time.perf_counter() - start)
    return samples[20:]
