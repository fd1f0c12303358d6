"""golemsim.core.fast_calls: wasmtime-py's component calls with the type views read once.

The first test is the tripwire: fast_calls wraps internals of the pinned wasmtime-py, so a
different version (or a changed layout) must fail here, loudly, before anything subtler does.
The others check that it converts every kind of value exactly as wasmtime-py does, and that
workers behave the same with it on and off.
"""

from __future__ import annotations

import ctypes
import gc
import os
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as wc

from golemsim import Executor, LedgerRegistry
from golemsim.core import fast_calls
from golemsim.core.engine import Engine
from golemsim.core.guest_output import GuestOutput


def test_the_pinned_wasmtime_py_has_the_shape_fast_calls_wraps() -> None:
    problems = fast_calls.shape_problems()
    assert problems == [], (
        "golemsim.core.fast_calls wraps wasmtime-py "
        f"{fast_calls.PINNED_WASMTIME} internals, and they changed: {problems}. Check every internal the "
        "module's docstring lists against the new wasmtime-py, then update PINNED_WASMTIME (or pin it back)."
    )
    assert fast_calls.enabled(), "fast calls are off by default (GOLEMSIM_FAST_CALLS=0 in the environment?)"


@pytest.fixture(scope="module")
def testkit_types(testkit_wasm: Path) -> dict[str, Any]:
    """The testkit component's export types, read by wasmtime-py."""
    engine = Engine()
    component = engine.compile(testkit_wasm.read_bytes())
    return {name: item.ty for name, item in component.type.exports(engine.wasmtime).items()}


def _item(**changes: Any) -> wc.Record:
    item = wc.Record()
    item.__dict__.update(
        name="lämp ☃",
        qty=2,
        color="green",
        shape=1.5,  # an untagged variant to wasmtime-py: its cases take different Python types
        tags=["a", "", "ß"],
        note=None,
        perms={"read", "write"},
        pair=(-3, "z"),
        blob=bytes(range(256)) * 3,
    )
    item.__dict__.update(changes)
    return item


ITEMS = [
    _item(),
    _item(shape=None, note="fragile", perms=set(), tags=[], blob=b""),
    _item(shape=4, note="", pair=(127, "\U0001f600"), blob=os.urandom(2496)),
]


def _wasmtime_py_round_trip(ty: Any, value: Any) -> Any:
    """wasmtime-py's own lowering, then its own lifting (which frees what it reads)."""
    val = ffi.wasmtime_component_val_t()
    ty.convert_to_c(None, value, ctypes.pointer(val))
    return ty.convert_from_c(val)


@pytest.mark.parametrize("value", ITEMS)
def test_values_convert_as_wasmtime_py_converts_them(testkit_types: dict[str, Any], value: wc.Record) -> None:
    check_item = testkit_types["check-item"]
    (_name, item_type), result_type = check_item.params[0], check_item.result
    for ty, original in [
        (item_type, value),
        (result_type, value),  # result<item, string>, untagged: ok
        (result_type, "no"),  # and err
    ]:
        expected = _wasmtime_py_round_trip(ty, original)
        # Lowered by fast_calls, lifted by wasmtime-py (which frees the parts as it reads them).
        val = ffi.wasmtime_component_val_t()
        fast_calls.lowerer(ty)(original, val)
        assert ty.convert_from_c(val) == expected
        # Lowered by wasmtime-py, lifted by fast_calls, then deleted whole.
        val = ffi.wasmtime_component_val_t()
        ty.convert_to_c(None, original, ctypes.pointer(val))
        try:
            lifted = fast_calls.lifter(ty)(val)
        finally:
            fast_calls._val_delete(ctypes.byref(val))
        assert lifted == expected
        assert type(lifted) is type(expected)


def test_a_value_of_the_wrong_type_is_refused_as_wasmtime_py_refuses_it(testkit_types: dict[str, Any]) -> None:
    (_name, item_type) = testkit_types["check-item"].params[0]
    for bad in (_item(qty="2"), _item(blob=[1, 2]), _item(color=3), _item(tags=("a",)), _item(pair=(1,))):
        with pytest.raises(TypeError) as ours:
            fast_calls.lowerer(item_type)(bad, ffi.wasmtime_component_val_t())
        with pytest.raises(TypeError) as theirs:
            item_type.convert_to_c(None, bad, ctypes.pointer(ffi.wasmtime_component_val_t()))
        assert str(ours.value) == str(theirs.value)


def test_exports_are_called_with_their_types_read_once(testkit_wasm: Path) -> None:
    with Executor.open(":memory:") as executor:
        executor.deploy(testkit_wasm, name="testkit")
        for item in ({"name": "a", "qty": 1}, {"name": "b", "qty": 0}):
            full = {
                **item,
                "color": "red",
                "shape": "point",
                "tags": [],
                "note": None,
                "perms": [],
                "pair": [0, "x"],
                "blob": list(range(40)),
            }
            executor.invoke("testkit", "w", "check-item", [full])
        (slot,) = executor.host.table.slots()
        assert slot.instance is not None
        export = slot.instance._funcs["check-item"]
        assert isinstance(export, fast_calls.FastExport)
        assert export.plan.lowers is not None, "check-item fell back to wasmtime-py's own conversions"


def _workflow(tmp_path: Path, testkit_wasm: Path, name: str) -> tuple[list[Any], list[tuple[str, Any, Any]]]:
    """Invocations through every kind of host call, a restart (replay) and a trap; what they returned, and the oplog."""
    ledger = LedgerRegistry(tmp_path / f"{name}-services.db")
    with Executor.open(tmp_path / f"{name}.db", services=ledger) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        results: list[Any] = [
            ex.invoke("testkit", "w", "two-calls", ["t"], idempotency_key="k1"),
            ex.invoke("testkit", "w", "atomic-pair", ["p"], idempotency_key="k2"),
            ex.invoke("testkit", "w", "add", [5], idempotency_key="k3"),
            ex.invoke("testkit", "w", "whoami", [], idempotency_key="k4"),
            sorted(ex.invoke("testkit", "w", "stamp", [], idempotency_key="k5")),
        ]
        results.append(ex.restart_worker("testkit/w"))
        results.append(ex.invoke("testkit", "w", "add", [1], idempotency_key="k6"))
        with pytest.raises(Exception) as trapped:
            ex.invoke("testkit", "w", "crash", ["boom"], idempotency_key="k7")
        results.append(str(trapped.value))
        results.append(ex.invoke("testkit", "w", "add", [1], idempotency_key="k8"))
        oplog = [
            (entry.kind, getattr(entry, "function", None), getattr(entry, "request", None))
            for _, entry in ex.oplog("testkit/w")
        ]
    return results, oplog


def test_workers_behave_the_same_with_fast_calls_on_and_off(tmp_path: Path, testkit_wasm: Path) -> None:
    fast = _workflow(tmp_path, testkit_wasm, "fast")
    fast_calls.set_enabled(False)
    try:
        slow = _workflow(tmp_path, testkit_wasm, "slow")
    finally:
        fast_calls.set_enabled(True)
    assert fast == slow
    assert "RuntimeError: boom" in fast[0][7]


def test_instances_of_a_component_share_one_linker_and_pooled_output_files(counter_wasm: Path) -> None:
    with Executor.open(":memory:", max_live_instances=2) as executor:
        executor.deploy(counter_wasm, name="counter")
        for i in range(8):
            executor.invoke("counter", f"c{i}", "increment", [i])
        gc.collect()
        live = [slot.instance for slot in executor.host.table.slots() if slot.instance is not None]
        assert len({id(instance._calls) for instance in live}) == 1
        assert len({instance._output.path for instance in live}) == len(live)
        assert all(instance._output.pooled for instance in live)


def test_an_output_file_is_reused_after_its_instance_is_gone() -> None:
    from golemsim.core import guest_output

    gc.collect()
    gc.disable()  # no instance collected meanwhile gives its file back between the two steps
    try:
        first = GuestOutput()
        path = first.path
        first.release()
        first.release()  # once only
        assert guest_output._free.count(path) == 1
        second = GuestOutput()
        assert second.path == path
        second.release()
    finally:
        gc.enable()
    own = GuestOutput(pooled=False)
    assert os.path.exists(own.path)
    own.release()
    assert not os.path.exists(own.path)


def test_a_host_call_from_a_store_bound_to_nothing_fails_cleanly(counter_wasm: Path) -> None:
    """A store whose instance was dropped: the host call fails with a wasmtime error, nothing escapes ctypes."""
    engine = Engine()
    component = engine.compile(counter_wasm.read_bytes())
    calls = fast_calls.component_calls(engine.wasmtime, component, [("wasi:random/random@0.2.9", "get-random-bytes")])
    store = wasmtime.Store(engine.wasmtime)

    class Target:
        host_functions: list[Any] = [lambda _store: 1]

        def host_call_failed(self, error: BaseException) -> None:
            raise AssertionError("not reached")

    target = Target()
    fast_calls.bind(store, target)
    del target
    gc.collect()
    context = ctypes.cast(store._context(), ctypes.c_void_p).value
    (entry,) = [key for key, entry in fast_calls._entries.items() if entry.name.endswith("#get-random-bytes")][-1:]
    result = ffi.wasmtime_component_val_t()
    error = fast_calls._host_call(entry, context, 0, 0, 0, ctypes.addressof(result), 1)
    assert error != 0
    message = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))
    assert "dropped" in str(message)
    assert calls.functions == [("wasi:random/random@0.2.9", "get-random-bytes")]


def test_cached_type_views_answer_without_ffi(testkit_types: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """golemsim.core.type_views: a signature's types, read once, then JSON conversions read no type through FFI."""
    from golemsim.core.type_views import cached
    from golemsim.core.values import from_json, to_json, type_name

    item_json = {
        "name": "lamp",
        "qty": 2,
        "color": "green",
        "shape": {"square": 4},
        "tags": ["a"],
        "note": "x",
        "perms": ["read"],
        "pair": [-3, "z"],
        "blob": [0, 255],
    }
    check_item = testkit_types["check-item"]
    item_type, result_type = check_item.params[0][1], check_item.result
    views = cached(item_type), cached(result_type)
    expected = (
        type_name(item_type),
        type_name(result_type),
        result_type._tagged(),
        to_json(result_type, from_json(result_type, {"ok": item_json})),
    )

    def no_ffi(*_args: Any) -> Any:
        raise AssertionError("a cached type view read its type through FFI")

    for name in dir(ffi):
        if name.startswith("wasmtime_component_") and "_type_" in name and not name.endswith("_delete"):
            monkeypatch.setattr(ffi, name, no_ffi)
    item_view, result_view = views
    got = (
        type_name(item_view),
        type_name(result_view),
        result_view._tagged(),
        to_json(result_view, from_json(result_view, {"ok": item_json})),
    )
    assert got == expected
    assert isinstance(item_view, wc.RecordType) and isinstance(result_view, wc.ResultType)
    assert cached(item_view) is item_view and item_view == views[0]
