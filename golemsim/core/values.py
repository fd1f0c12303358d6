"""Convert between JSON and typed component values, guided by the WIT types.

JSON shapes (the same for the CLI, the Python API and the gateway):

===========================  ====================================================
WIT type                     JSON
===========================  ====================================================
bool, integers, floats       true, 42, 1.5 (integers are range-checked)
char, string                 "x", "text"
list<T>, tuple<...>          [ ... ]   (list<u8> too: an array of numbers)
record                       {"field-name": value, ...}  (every field required)
variant                      {"case": payload}, or "case" for a case without payload
enum                         "case"
flags                        ["flag-a", "flag-b"]
option<T>                    null or the value
result<T, E>                 {"ok": value} or {"err": value}
===========================  ====================================================
"""

from __future__ import annotations

import math
from typing import Any

from wasmtime import component as wc

from .errors import BadRequest

INT_RANGES: dict[type, tuple[int, int]] = {
    wc.U8: (0, 2**8 - 1),
    wc.U16: (0, 2**16 - 1),
    wc.U32: (0, 2**32 - 1),
    wc.U64: (0, 2**64 - 1),
    wc.S8: (-(2**7), 2**7 - 1),
    wc.S16: (-(2**15), 2**15 - 1),
    wc.S32: (-(2**31), 2**31 - 1),
    wc.S64: (-(2**63), 2**63 - 1),
}


def type_name(ty: Any) -> str:
    """A short WIT-like spelling of a value type, for signatures and error messages."""
    if ty is None:
        return "_"
    if type(ty) in INT_RANGES or isinstance(ty, (wc.Bool, wc.F32, wc.F64, wc.Char, wc.String)):
        return type(ty).__name__.lower()
    if isinstance(ty, wc.ListType):
        return f"list<{type_name(ty.element)}>"
    if isinstance(ty, wc.TupleType):
        return f"tuple<{', '.join(type_name(e) for e in ty.elements)}>"
    if isinstance(ty, wc.RecordType):
        return "record{" + ", ".join(f"{n}: {type_name(t)}" for n, t in ty.fields) + "}"
    if isinstance(ty, wc.VariantType):
        return "variant{" + ", ".join(n if t is None else f"{n}({type_name(t)})" for n, t in ty.cases) + "}"
    if isinstance(ty, wc.EnumType):
        return "enum{" + ", ".join(ty.names) + "}"
    if isinstance(ty, wc.FlagsType):
        return "flags{" + ", ".join(ty.names) + "}"
    if isinstance(ty, wc.OptionType):
        return f"option<{type_name(ty.payload)}>"
    if isinstance(ty, wc.ResultType):
        return f"result<{type_name(ty.ok)}, {type_name(ty.err)}>"
    return type(ty).__name__


def unsupported_part(ty: Any) -> str | None:
    """The part of ``ty`` that cannot cross the JSON boundary (a resource, stream, ...), or None."""
    if ty is None or type(ty) in INT_RANGES:
        return None
    if isinstance(ty, (wc.Bool, wc.F32, wc.F64, wc.Char, wc.String, wc.EnumType, wc.FlagsType)):
        return None
    if isinstance(ty, wc.ListType):
        return unsupported_part(ty.element)
    if isinstance(ty, wc.OptionType):
        return unsupported_part(ty.payload)
    if isinstance(ty, wc.ResultType):
        return unsupported_part(ty.ok) or unsupported_part(ty.err)
    parts: list[Any] = []
    if isinstance(ty, wc.TupleType):
        parts = list(ty.elements)
    elif isinstance(ty, wc.RecordType):
        parts = [t for _, t in ty.fields]
    elif isinstance(ty, wc.VariantType):
        parts = [t for _, t in ty.cases]
    else:
        return type_name(ty)
    return next((found for found in map(unsupported_part, parts) if found), None)


def _fail(path: str, expected: str, value: Any) -> BadRequest:
    return BadRequest(f"{path}: expected {expected}, got {value!r}")


def from_json(ty: Any, value: Any, path: str = "value") -> Any:
    """Turn a JSON value into the Python value wasmtime expects for ``ty``; BadRequest if it does not fit."""
    kind = type(ty)
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(path, type_name(ty), value)
        if not low <= value <= high:
            raise BadRequest(f"{path}: {value} is out of range for {type_name(ty)}")
        return value
    if isinstance(ty, wc.Bool):
        if not isinstance(value, bool):
            raise _fail(path, "bool", value)
        return value
    if isinstance(ty, (wc.F32, wc.F64)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, "a number", value)
        return float(value)
    if isinstance(ty, wc.Char):
        if not isinstance(value, str) or len(value) != 1:
            raise _fail(path, "a single character", value)
        return value
    if isinstance(ty, wc.String):
        if not isinstance(value, str):
            raise _fail(path, "string", value)
        return value
    if isinstance(ty, wc.ListType):
        if not isinstance(value, list):
            raise _fail(path, type_name(ty), value)
        items = [from_json(ty.element, item, f"{path}[{i}]") for i, item in enumerate(value)]
        return bytes(items) if isinstance(ty.element, wc.U8) else items
    if isinstance(ty, wc.TupleType):
        elements = ty.elements
        if not isinstance(value, list) or len(value) != len(elements):
            raise _fail(path, f"an array of {len(elements)}", value)
        return tuple(from_json(t, v, f"{path}[{i}]") for i, (t, v) in enumerate(zip(elements, value, strict=True)))
    if isinstance(ty, wc.RecordType):
        return _record_from_json(ty, value, path)
    if isinstance(ty, wc.EnumType):
        if value not in ty.names:
            raise _fail(path, f"one of {ty.names}", value)
        return value
    if isinstance(ty, wc.FlagsType):
        if not isinstance(value, list) or any(v not in ty.names for v in value):
            raise _fail(path, f"a list of flags from {ty.names}", value)
        return set(value)
    if isinstance(ty, wc.OptionType):
        return _variant_like_from_json(ty, ("none", None) if value is None else ("some", value), path)
    if isinstance(ty, wc.ResultType):
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ("ok", "err"):
            raise _fail(path, '{"ok": ...} or {"err": ...}', value)
        tag, payload = next(iter(value.items()))
        return _variant_like_from_json(ty, (tag, payload), path)
    if isinstance(ty, wc.VariantType):
        if isinstance(value, str):
            tag, payload = value, None
        elif isinstance(value, dict) and len(value) == 1:
            tag, payload = next(iter(value.items()))
        else:
            raise _fail(path, 'a variant such as {"case": payload} or "case"', value)
        return _variant_like_from_json(ty, (tag, payload), path)
    raise BadRequest(f"{path}: values of type {type_name(ty)} cannot cross the JSON boundary")


def _record_from_json(ty: Any, value: Any, path: str) -> Any:
    fields = ty.fields
    if not isinstance(value, dict):
        raise _fail(path, type_name(ty), value)
    names = {name for name, _ in fields}
    unknown = sorted(set(value) - names)
    if unknown:
        raise BadRequest(f"{path}: unknown field(s) {unknown}; the record has {sorted(names)}")
    record = wc.Record()
    for name, field_ty in fields:
        if name not in value:
            raise BadRequest(f"{path}: missing field {name!r}")
        setattr(record, name, from_json(field_ty, value[name], f"{path}.{name}"))
    return record


def _variant_like_from_json(ty: Any, case: tuple[str, Any], path: str) -> Any:
    tag, payload = case
    cases = dict(ty._cases())
    if tag not in cases:
        raise _fail(path, f"one of the cases {sorted(cases)}", tag)
    case_ty = cases[tag]
    if case_ty is None:
        if payload is not None:
            raise BadRequest(f"{path}: case {tag!r} takes no payload")
        converted = None
    else:
        converted = from_json(case_ty, payload, f"{path}.{tag}")
    if ty._tagged():
        return wc.Variant(tag, converted)
    return converted


def to_json(ty: Any, value: Any) -> Any:
    """Turn a value returned by wasmtime for ``ty`` into JSON (the inverse of from_json)."""
    if ty is None:
        return None
    if type(ty) in INT_RANGES or isinstance(ty, (wc.Bool, wc.Char, wc.String, wc.EnumType)):
        return value
    if isinstance(ty, (wc.F32, wc.F64)):
        return value if math.isfinite(value) else str(value)
    if isinstance(ty, wc.ListType):
        return [to_json(ty.element, item) for item in value]
    if isinstance(ty, wc.TupleType):
        return [to_json(t, v) for t, v in zip(ty.elements, value, strict=True)]
    if isinstance(ty, wc.RecordType):
        return {name: to_json(field_ty, getattr(value, name)) for name, field_ty in ty.fields}
    if isinstance(ty, wc.FlagsType):
        return sorted(value)
    if isinstance(ty, (wc.OptionType, wc.ResultType, wc.VariantType)):
        tag, payload_ty, payload = _variant_case(ty, value)
        converted = to_json(payload_ty, payload) if payload_ty is not None else None
        if isinstance(ty, wc.OptionType):
            return converted if tag == "some" else None
        if isinstance(ty, wc.VariantType) and payload_ty is None:
            return tag
        return {tag: converted}
    raise TypeError(f"cannot convert values of type {type_name(ty)} to JSON")


def _variant_case(ty: Any, value: Any) -> tuple[str, Any, Any]:
    """Which case an (un)tagged variant-like value is: wasmtime tags only when cases overlap."""
    cases = ty._cases()
    if ty._tagged():
        payload_ty = dict(cases)[value.tag]
        return value.tag, payload_ty, value.payload
    for tag, case_ty in cases:
        if case_ty is None:
            if value is None:
                return tag, None, None
            continue
        classes: set[type] = set()
        case_ty.add_classes(classes)
        if isinstance(value, tuple(classes)):
            return tag, case_ty, value
    raise TypeError(f"value {value!r} matches no case of {type_name(ty)}")
