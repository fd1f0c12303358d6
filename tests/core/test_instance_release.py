"""Suspended workers give their instance's memory back."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from golemsim.core import instance as instance_module
from golemsim.core.executor import Executor


def test_an_evicted_instance_is_freed(counter_wasm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """wasmtime-py keeps host functions in a process-wide table while their store lives; if they
    held the instance strongly, every instance ever made would stay in memory (3 MB each)."""
    made: list[weakref.ref[instance_module.WorkerInstance]] = []
    original = instance_module.WorkerInstance.__init__

    def tracked(self: instance_module.WorkerInstance, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        made.append(weakref.ref(self))

    monkeypatch.setattr(instance_module.WorkerInstance, "__init__", tracked)
    with Executor.open(":memory:", max_live_instances=2) as executor:
        executor.deploy(counter_wasm, name="counter")
        for i in range(12):
            assert executor.invoke("counter", f"c{i}", "increment", [i]) == i
        gc.collect()
        alive = [ref for ref in made if ref() is not None]
        assert len(made) == 12
        assert len(alive) <= 2  # the live ones only
        assert executor.invoke("counter", "c0", "increment", [1]) == 1  # an evicted worker comes back by replay
