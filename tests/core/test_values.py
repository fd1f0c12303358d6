"""JSON <-> WIT values through a real component: records, variants, enums, flags, options, results, tuples."""

from __future__ import annotations

from typing import Any

import pytest
from wasmtime import component as wc

from golemsim import BadRequest, Executor, FunctionSignature

ITEM: dict[str, Any] = {
    "name": "lamp",
    "qty": 2,
    "color": "green",
    "shape": {"circle": 1.5},
    "tags": ["a", "b"],
    "note": None,
    "perms": ["read", "write"],
    "pair": [-3, "z"],
    "blob": [0, 1, 255],
}


def test_every_kind_of_value_round_trips(executor: Executor) -> None:
    assert executor.invoke("testkit", "w", "check-item", [ITEM]) == {"ok": ITEM}
    other = {**ITEM, "shape": "point", "note": "fragile", "perms": []}
    assert executor.invoke("testkit", "w", "check-item", [other]) == {"ok": other}
    square = {**ITEM, "shape": {"square": 4}}
    assert executor.invoke("testkit", "w", "check-item", [square]) == {"ok": square}


def test_result_err_is_a_value_not_a_failure(executor: Executor) -> None:
    zero = {**ITEM, "qty": 0}
    assert executor.invoke("testkit", "w", "check-item", [zero]) == {"err": "item lamp has quantity zero"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"qty": -1}, r"check-item\(item\).qty: -1 is out of range for u32"),
        ({"color": "pink"}, r"\.color: expected one of \['red', 'green', 'blue'\]"),
        ({"shape": {"hexagon": 1}}, r"\.shape: expected one of the cases"),
        ({"perms": ["execute"]}, r"\.perms: expected a list of flags"),
        ({"pair": [1]}, r"\.pair: expected an array of 2"),
        ({"extra": 1}, r"unknown field\(s\) \['extra'\]"),
        ({"blob": [256]}, r"\.blob\[0\]: 256 is out of range for u8"),
    ],
)
def test_bad_values_are_named_precisely(executor: Executor, change: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        executor.invoke("testkit", "w", "check-item", [{**ITEM, **change}])


def test_missing_field_is_named(executor: Executor) -> None:
    item = dict(ITEM)
    del item["tags"]
    with pytest.raises(BadRequest, match="missing field 'tags'"):
        executor.invoke("testkit", "w", "check-item", [item])


def test_signatures_are_read_from_the_component(executor: Executor) -> None:
    template = executor.templates.get("testkit")
    assert str(template.function("add")) == "add(n: s64) -> s64"
    assert str(template.function("two-calls")) == "two-calls(tag: string) -> result<list<string>, string>"


def test_a_function_with_a_type_json_cannot_carry_is_refused_clearly() -> None:
    signature = FunctionSignature("f", [("x", wc.ErrorContext())], wc.String())
    assert signature.blocked == "ErrorContext"
    with pytest.raises(BadRequest, match=r"f\(x: ErrorContext\) -> string cannot be invoked through golemsim"):
        signature.args_from_json([1])
