"""Snapshots of a live worker instance: the snapshot-kit template (golemsim_guest.Snapshots) in real wasmtime.

Saving pickles the template's declared globals (ints, lists of wit_world records, dicts of the
template's own dataclasses, megabytes of bytes); loading them into a fresh instance of the
same component gives the same state. Bad data, a failing unpickle and host calls inside the
snapshot functions are SnapshotErrors that say what went wrong.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import SNAPSHOT_KIT

from golemsim import MemoryOplogStore, RealEnvironment, ResourceLimits, RetryPolicy, WorkerId, build_template
from golemsim.core.engine import Engine
from golemsim.core.errors import SnapshotError
from golemsim.core.instance import WorkerInstance
from golemsim.core.oplog_writer import OplogWriter
from golemsim.core.templates import CompiledTemplate, MemoryTemplateStore, TemplateRegistry

MakeInstance = Callable[..., WorkerInstance]


@pytest.fixture(scope="session")
def snapshot_kit_wasm() -> Path:
    return build_template(SNAPSHOT_KIT).wasm_path


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    made = Engine()
    yield made
    made.stop()


@pytest.fixture(scope="module")
def registry(engine: Engine, snapshot_kit_wasm: Path, counter_wasm: Path) -> TemplateRegistry:
    templates = TemplateRegistry(MemoryTemplateStore(), engine)
    templates.deploy("snapshot-kit", snapshot_kit_wasm.read_bytes())
    templates.deploy("counter", counter_wasm.read_bytes())
    return templates


@pytest.fixture
def make(engine: Engine, registry: TemplateRegistry) -> Iterator[MakeInstance]:
    """Fresh instances of a deployed template, each worker with its own in-memory oplog."""
    made: list[WorkerInstance] = []

    def instance(
        name: str = "a", template: str = "snapshot-kit", limits: ResourceLimits | None = None
    ) -> WorkerInstance:
        worker = WorkerId(template, name)
        environment = RealEnvironment()
        writer = OplogWriter(worker, MemoryOplogStore(), environment, 0)
        compiled: CompiledTemplate = registry.get(template)
        one = WorkerInstance(worker, compiled, engine, environment, writer, limits or ResourceLimits(), RetryPolicy())
        made.append(one)
        return one

    yield instance
    for one in made:
        one.close()


def call(instance: WorkerInstance, function: str, *args: Any) -> Any:
    outcome = instance.run(f"k-{function}-{args}", function, list(args), [], may_go_live=True)
    assert outcome.ok, outcome.result
    return outcome.result


def fill(instance: WorkerInstance) -> dict[str, Any]:
    """Give the instance a varied state; returns its summary."""
    call(instance, "add", 40)
    call(instance, "add", 2)
    call(instance, "put-line", "lamp", 2)
    call(instance, "put-line", "cup", 7)
    call(instance, "annotate", "lamp", "fragile")
    call(instance, "annotate", "lamp", "very fragile")
    call(instance, "grow", 3)
    summary: dict[str, Any] = json.loads(call(instance, "summary"))
    return summary


def test_save_then_load_into_a_fresh_instance_restores_the_state(make: MakeInstance) -> None:
    original = make("a")
    assert original.supports_snapshots
    state = fill(original)
    assert state["total"] == 42 and state["notes"] == {"lamp": ["very fragile", 2]}
    data = original.save_snapshot()
    assert data.startswith(b"GSIMSNAP")

    fresh = make("a")
    assert json.loads(call(fresh, "summary"))["total"] == 0
    fresh.load_snapshot(data)
    assert json.loads(call(fresh, "summary")) == state
    # The restored state is live: records of wit_world and the template's dataclasses work on.
    assert call(fresh, "add", 1) == 43
    assert call(fresh, "put-line", "pen", 1) == 3
    assert call(fresh, "annotate", "lamp", "glass") == 1
    assert json.loads(call(fresh, "summary"))["notes"] == {"lamp": ["glass", 3]}
    # The original is unaffected.
    assert call(original, "add", 0) == 42


def test_a_snapshot_loads_as_the_first_call_into_an_instance_and_restores_the_random_module(
    make: MakeInstance,
) -> None:
    """Recovery's case: the fresh instance's first call is the load (componentize-py reseeds
    Python's random module then, with randomness no oplog holds); the load puts back the
    random module's state, so the worker draws what it would have drawn without the crash."""
    original = make("r")
    state = fill(original)
    call(original, "roll")
    data = original.save_snapshot()
    expected = [call(original, "roll") for _ in range(3)]

    fresh = make("r")
    fresh.load_snapshot(data)  # its first call
    assert [call(fresh, "roll") for _ in range(3)] == expected
    assert json.loads(call(fresh, "summary")) == state
    assert fresh.durable.writer.last_index == 0  # nothing of the load went into the oplog


def test_saving_cannot_be_an_instances_first_call(make: MakeInstance) -> None:
    """Its reseed of the random module would be in no oplog, so a later full replay would diverge."""
    fresh = make("f")
    with pytest.raises(SnapshotError, match=r"save-snapshot on worker snapshot-kit/f read randomness \(random.bytes\)"):
        fresh.save_snapshot()
    assert fresh.dead


def test_a_large_state_round_trips(make: MakeInstance) -> None:
    original = make("big")
    call(original, "add", 7)
    assert call(original, "grow", 2 * 1024) == 2 * 1024 * 1024
    state = json.loads(call(original, "summary"))
    data = original.save_snapshot()
    assert len(data) > 2 * 1024 * 1024
    fresh = make("big")
    fresh.load_snapshot(data)
    assert json.loads(call(fresh, "summary")) == state
    assert not fresh.dead and not original.dead


def test_a_large_state_moves_in_one_call(make: MakeInstance) -> None:
    """Snapshots cross as base64 text: wasmtime-py copies a string at once (a list<u8> would go
    element by element, about 1 s per MB, and stop near 2.8 MB)."""
    original = make("huge")
    call(original, "grow", 16 * 1024)
    state = json.loads(call(original, "summary"))
    data = original.save_snapshot()
    assert len(data) > 16 * 1024 * 1024
    fresh = make("huge")
    fresh.load_snapshot(data)
    assert json.loads(call(fresh, "summary")) == state


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda data: b"", "not a golemsim snapshot: the 0 bytes do not start with the snapshot header"),
        (lambda data: b"hello, snapshot", "not a golemsim snapshot"),
        (lambda data: data[:8] + b"\x07" + data[9:], "snapshot format 7 is unknown to this template"),
        (lambda data: data[: len(data) // 2], "the snapshot cannot be unpickled"),
    ],
    ids=["empty", "foreign", "future-format", "truncated"],
)
def test_bad_data_is_a_snapshot_error_that_says_why(
    make: MakeInstance, mangle: Callable[[bytes], bytes], message: str
) -> None:
    source = make("src")
    fill(source)
    target = make("dst")
    call(target, "add", 5)
    with pytest.raises(SnapshotError, match=f"worker snapshot-kit/dst cannot load the snapshot: {message}"):
        target.load_snapshot(mangle(source.save_snapshot()))
    # The guest kept its state (it loads all or nothing), but the instance is not trusted again.
    assert target.dead
    with pytest.raises(SnapshotError, match="trapped earlier and must be rebuilt"):
        target.load_snapshot(source.save_snapshot())


def test_a_value_that_fails_to_unpickle_is_reported_with_the_guests_reason(make: MakeInstance) -> None:
    source = make("p")
    fill(source)
    call(source, "poison", "load-error")
    data = source.save_snapshot()  # saving works: only loading fails
    with pytest.raises(SnapshotError, match="cannot be unpickled: ValueError: poisoned on purpose"):
        make("p").load_snapshot(data)


@pytest.mark.parametrize("when", ["save", "load"])
def test_a_host_call_inside_a_snapshot_function_is_refused_clearly(make: MakeInstance, when: str) -> None:
    source = make("h")
    call(source, "poison", f"{when}-host-call")  # also: its first call, so saving may read randomness
    if when == "save":
        with pytest.raises(SnapshotError, match="save-snapshot on worker snapshot-kit/h made a host call") as raised:
            source.save_snapshot()
        assert source.dead
    else:
        data = source.save_snapshot()
        target = make("h2")
        with pytest.raises(SnapshotError, match="load-snapshot on worker snapshot-kit/h2 made a host call") as raised:
            target.load_snapshot(data)
        assert target.dead
    assert "wall-clock.now" in str(raised.value)
    assert "may not do" in str(raised.value)


def test_saving_runs_under_the_fuel_limit_of_an_invocation(make: MakeInstance) -> None:
    """Pickling 1,000 notes takes more guest work than the limit allows; each note alone fits."""
    tight = make("fuel", limits=ResourceLimits(fuel_per_invocation=10_000_000))
    for n in range(1000):
        call(tight, "annotate", f"sku-{n}", "x" * 50)
    with pytest.raises(SnapshotError, match="save-snapshot on worker snapshot-kit/fuel failed: ran out of fuel"):
        tight.save_snapshot()
    assert tight.dead


def test_a_template_without_snapshot_exports_says_so(make: MakeInstance) -> None:
    counter = make("c1", template="counter")
    assert not counter.supports_snapshots
    expected = (
        "worker counter/c1 has no snapshots: template counter v1 does not export save-snapshot and load-snapshot "
        r"\(its world does not include golemsim:host/snapshotting@0.1.0\)"
    )
    with pytest.raises(SnapshotError, match=expected):
        counter.save_snapshot()
    with pytest.raises(SnapshotError, match=expected):
        counter.load_snapshot(b"")
    assert not counter.dead
    assert call(counter, "increment", 3) == 3
