"""Faster calls across the component boundary: a wrapper of wasmtime-py 50.0.1 internals.

wasmtime-py (``wasmtime.component``) re-reads every function and value type through FFI on
each call: ``Func.__call__`` asks for the function's type, each parameter's type, each record's
fields and each variant's cases, and a host function's callback does the same for its own type
before and after calling Python. A ``list<u8>`` is lowered one element at a time, with a ctypes
pointer made per byte (CPython's 2,496-byte random seed, asked for on an instance's first call,
costs about 2 ms that way). Every one of those FFI calls also releases and retakes the GIL.

This module does the same conversions with the type views read once:

- ``lowerer(ty)`` / ``lifter(ty)`` turn a wasmtime-py value type into plain Python functions
  that write or read a ``wasmtime_component_val_t`` with no further type reads; ``list<u8>``
  moves as one block (``bytes`` in, ``bytes`` out).
- ``ComponentCalls`` is kept per compiled component: one linker (WASI p2 plus the host
  functions golemsim defines, with wasmtime-py's own definitions never used) shared by every
  instance, and the call plans of its exports.
- A host function's callback finds the instance it runs for through the store's data
  (``wasmtime_context_set_data``): each store is bound to a ``HostTarget`` (a worker instance)
  with its own table of host functions, so one linker serves per-instance functions.
- Calls that only touch memory (allocating a string, freeing a value, reading the store's data,
  setting fuel) keep the GIL (ctypes ``PYFUNCTYPE``); only the calls that run guest code release it.

It relies on these wasmtime-py internals (checked by ``shape_problems``, and by a test that
fails when the pinned version changes): ``wasmtime._ffi`` (its ``dll``, the
``wasmtime_component_val_t`` layout and the ``WASMTIME_COMPONENT_*`` kind numbers),
``Store._context()``, ``component.Func._func``, ``component.Linker`` (``ptr()``, ``root()``,
``add_wasip2``, ``instantiate``), ``component.LinkerInstance``, the value type classes
(``ListType.element``, ``RecordType.fields``, ``TupleType.elements``, ``EnumType.names``,
``FlagsType.names``, and the variant-like types' ``_cases()`` / ``_tagged()`` / ``add_classes``),
``WasmtimeError._from_ptr`` / ``_consume``, ``StoreContext`` and ``component._enter``. The C
functions are called through prototypes of our own, by their names in wasmtime's C API.

Types it cannot convert (resources, futures, streams, error contexts) fall back, per function,
to wasmtime-py's own conversions. ``GOLEMSIM_FAST_CALLS=0`` (or ``set_enabled(False)``) turns
the whole wrapper off for instances made afterwards: they then use wasmtime-py as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from ctypes import addressof, byref, c_char_p, c_size_t, c_uint64, c_void_p, string_at
from importlib.metadata import version
from typing import Any, Protocol

import wasmtime
from wasmtime import _ffi as ffi
from wasmtime import component as wc
from wasmtime.component import _enter

log = logging.getLogger("golemsim.executor")

PINNED_WASMTIME = "50.0.1"
"""The wasmtime-py version whose internals this module was written against."""

Lower = Callable[[Any, Any], None]
"""``lower(value, destination)``: write ``value`` into a ``wasmtime_component_val_t``."""
Lift = Callable[[Any], Any]
"""``lift(source)``: read a ``wasmtime_component_val_t`` into a Python value; it frees nothing."""

_VAL = ffi.wasmtime_component_val_t
_STRIDE = ctypes.sizeof(_VAL)
_OF = _VAL.of.offset
_ENTRY = ctypes.sizeof(ffi.wasmtime_component_valrecord_entry_t)
_ENTRY_VAL = ffi.wasmtime_component_valrecord_entry_t.val.offset


def _kind(name: str) -> int:
    return int(getattr(ffi, f"WASMTIME_COMPONENT_{name}").value)


_BOOL, _U8, _LIST, _RECORD, _TUPLE = (_kind(n) for n in ("BOOL", "U8", "LIST", "RECORD", "TUPLE"))
_STRING, _VARIANT, _ENUM, _OPTION, _RESULT = (_kind(n) for n in ("STRING", "VARIANT", "ENUM", "OPTION", "RESULT"))
_CHAR, _FLAGS = _kind("CHAR"), _kind("FLAGS")


class Unsupported(Exception):
    """A value type this module does not convert (wasmtime-py's own conversion is used)."""


# -- C functions, through prototypes of our own --------------------------------------------------


def _c(name: str, restype: Any, *argtypes: Any, keeps_gil: bool = True) -> Any:
    """wasmtime's C function ``name``. ``keeps_gil``: it only touches memory, so it is called
    without releasing the GIL (a release per call becomes a thread switch under load)."""
    prototype = ctypes.PYFUNCTYPE if keeps_gil else ctypes.CFUNCTYPE
    return prototype(restype, *argtypes)((name, ffi.dll))


_ERROR = ctypes.POINTER(ffi.wasmtime_error_t)
_byte_vec_new = _c("wasm_byte_vec_new", None, c_void_p, c_size_t, c_char_p)
_vallist_new_uninit = _c("wasmtime_component_vallist_new_uninit", None, c_void_p, c_size_t)
_vallist_delete = _c("wasmtime_component_vallist_delete", None, c_void_p)
_valrecord_new_uninit = _c("wasmtime_component_valrecord_new_uninit", None, c_void_p, c_size_t)
_valrecord_delete = _c("wasmtime_component_valrecord_delete", None, c_void_p)
_valtuple_new_uninit = _c("wasmtime_component_valtuple_new_uninit", None, c_void_p, c_size_t)
_valtuple_delete = _c("wasmtime_component_valtuple_delete", None, c_void_p)
_valflags_new_uninit = _c("wasmtime_component_valflags_new_uninit", None, c_void_p, c_size_t)
_valflags_delete = _c("wasmtime_component_valflags_delete", None, c_void_p)
_val_new = _c("wasmtime_component_val_new", ctypes.POINTER(_VAL), c_void_p)
_val_delete = _c("wasmtime_component_val_delete", None, c_void_p)
_context_get_data = _c("wasmtime_context_get_data", c_void_p, c_void_p)
_context_set_data = _c("wasmtime_context_set_data", None, c_void_p, c_void_p)
_set_fuel = _c("wasmtime_context_set_fuel", _ERROR, c_void_p, c_uint64)
_get_fuel = _c("wasmtime_context_get_fuel", _ERROR, c_void_p, c_void_p)
_set_epoch_deadline = _c("wasmtime_context_set_epoch_deadline", None, c_void_p, c_uint64)
_func_call = _c(
    "wasmtime_component_func_call", _ERROR, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, keeps_gil=False
)
_func_post_return = _c("wasmtime_component_func_post_return", _ERROR, c_void_p, c_void_p, keeps_gil=False)
_add_func = _c(
    "wasmtime_component_linker_instance_add_func", _ERROR, c_void_p, c_char_p, c_size_t, c_void_p, c_void_p, c_void_p
)
_HOST_CALLBACK = ctypes.CFUNCTYPE(c_size_t, c_void_p, c_void_p, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
"""wasmtime_component_func_callback_t, with plain addresses (no ctypes pointer objects per call)."""
_FINALIZER = ctypes.CFUNCTYPE(None, c_void_p)


def _raise_error(error: Any) -> None:
    """Raise a ``wasmtime_error_t*`` returned by a call that may run guest code, as wasmtime-py does."""
    if error:
        exception = wasmtime.WasmtimeError._from_ptr(error)
        _enter.maybe_raise_last_exn()
        raise exception


def _error_address(message: str) -> int:
    """A new ``wasmtime_error_t*`` (as an address) for a host function to return."""
    pointer = wasmtime.WasmtimeError(message)._consume()
    return int(ctypes.cast(pointer, c_void_p).value or 0)


def _val_at(address: int) -> Any:
    return _VAL.from_address(address)


# -- lowering and lifting, with the type views read once ----------------------------------------

_SCALARS: dict[type, tuple[str, type, str]] = {
    wc.Bool: ("boolean", bool, "expected bool for Bool type"),
    wc.S8: ("s8", int, "expected int for S8 type"),
    wc.S16: ("s16", int, "expected int for S16 type"),
    wc.S32: ("s32", int, "expected int for S32 type"),
    wc.S64: ("s64", int, "expected int for S64 type"),
    wc.U8: ("u8", int, "expected int for U8 type"),
    wc.U16: ("u16", int, "expected int for U16 type"),
    wc.U32: ("u32", int, "expected int for U32 type"),
    wc.U64: ("u64", int, "expected int for U64 type"),
    wc.F32: ("f32", float, "expected float for F32 type"),
    wc.F64: ("f64", float, "expected float for F64 type"),
}
"""Scalar types: the union field, the Python type wasmtime-py accepts, and its error message."""


def _scalar_kind(ty: Any) -> int:
    return _kind(type(ty).__name__.upper())


def lowerer(ty: Any) -> Lower:
    """How to write a Python value of WIT type ``ty`` (a wasmtime-py type view), read once.

    Same checks and errors as wasmtime-py's ``convert_to_c``. On an error the destination is
    left holding nothing to free. Raises Unsupported for types this module does not convert.
    """
    kind = type(ty)
    if kind in _SCALARS:
        field, python_type, message = _SCALARS[kind]
        value_kind = _scalar_kind(ty)

        def lower_scalar(value: Any, dst: Any) -> None:
            if not isinstance(value, python_type):
                raise TypeError(message)
            dst.kind = value_kind
            setattr(dst.of, field, value)

        return lower_scalar
    if kind is wc.Char:

        def lower_char(value: Any, dst: Any) -> None:
            if not isinstance(value, str) or len(value) != 1:
                raise TypeError("expected single-character string for Char type")
            dst.kind = _CHAR
            dst.of.character = ord(value)

        return lower_char
    if kind is wc.String:
        return _lower_string
    if isinstance(ty, wc.ListType):
        element = ty.element
        return _lower_bytes if isinstance(element, wc.U8) else _list_lowerer(lowerer(element))
    if isinstance(ty, wc.RecordType):
        return _record_lowerer([(name, lowerer(field_ty)) for name, field_ty in ty.fields])
    if isinstance(ty, wc.TupleType):
        return _tuple_lowerer([lowerer(element) for element in ty.elements])
    if isinstance(ty, wc.EnumType):
        return _lower_enum
    if isinstance(ty, wc.FlagsType):
        return _lower_flags
    if isinstance(ty, (wc.VariantType, wc.OptionType, wc.ResultType)):
        return _variant_lowerer(ty)
    raise Unsupported(type(ty).__name__)


def lifter(ty: Any) -> Lift:
    """How to read a value of WIT type ``ty`` into Python, the way wasmtime-py's
    ``convert_from_c`` does, with the type views read once. Frees nothing: the caller owns
    the value and deletes it whole. Raises Unsupported for types this module does not convert."""
    kind = type(ty)
    if kind in _SCALARS:
        field, python_type, _message = _SCALARS[kind]
        convert: Callable[[Any], Any] = bool if python_type is bool else python_type
        return lambda src: convert(getattr(src.of, field))
    if kind is wc.Char:
        return lambda src: chr(src.of.character)
    if kind is wc.String:
        return _lift_string
    if isinstance(ty, wc.ListType):
        element = ty.element
        return _lift_bytes if isinstance(element, wc.U8) else _list_lifter(lifter(element))
    if isinstance(ty, wc.RecordType):
        return _record_lifter([(name, lifter(field_ty)) for name, field_ty in ty.fields])
    if isinstance(ty, wc.TupleType):
        return _tuple_lifter([lifter(element) for element in ty.elements])
    if isinstance(ty, wc.EnumType):
        return lambda src: _name_at(addressof(src) + _OF)
    if isinstance(ty, wc.FlagsType):
        return _lift_flags
    if isinstance(ty, (wc.VariantType, wc.OptionType, wc.ResultType)):
        return _variant_lifter(ty)
    raise Unsupported(type(ty).__name__)


def _vec(address: int) -> tuple[int, int]:
    """The (size, data address) of a C vector (a name, list, record, tuple or flags) at ``address``."""
    return ctypes.c_size_t.from_address(address).value, c_void_p.from_address(address + 8).value or 0


def _name_at(address: int) -> str:
    size, data = _vec(address)
    return string_at(data, size).decode("utf-8") if size else ""


def _put_name(address: int, text: str) -> None:
    encoded = text.encode("utf-8")
    _byte_vec_new(address, len(encoded), encoded)


def _lower_string(value: Any, dst: Any) -> None:
    if not isinstance(value, str):
        raise TypeError("expected string type")
    _put_name(addressof(dst) + _OF, value)
    dst.kind = _STRING


def _lift_string(src: Any) -> str:
    return _name_at(addressof(src) + _OF)


def _lower_enum(value: Any, dst: Any) -> None:
    if not isinstance(value, str):
        raise TypeError("expected str type")
    _put_name(addressof(dst) + _OF, value)
    dst.kind = _ENUM


def _lower_bytes(value: Any, dst: Any) -> None:
    """A ``list<u8>`` in one copy: the array of values is laid out in Python and moved at once."""
    if not isinstance(value, bytes):
        raise TypeError("expected bytes value")
    count = len(value)
    layout = bytearray(count * _STRIDE)
    layout[0::_STRIDE] = bytes((_U8,)) * count
    layout[_OF::_STRIDE] = value
    address = addressof(dst) + _OF
    _vallist_new_uninit(address, count)
    if count:
        ctypes.memmove(_vec(address)[1], (ctypes.c_char * len(layout)).from_buffer(layout), len(layout))
    dst.kind = _LIST


def _lift_bytes(src: Any) -> bytes:
    count, data = _vec(addressof(src) + _OF)
    if not count:
        return b""
    layout = string_at(data, count * _STRIDE)
    if layout[0::_STRIDE] != bytes((_U8,)) * count:
        raise AssertionError("a list<u8> holds values that are not u8")
    return layout[_OF::_STRIDE]


def _list_lowerer(element: Lower) -> Lower:
    def lower_list(value: Any, dst: Any) -> None:
        if not isinstance(value, list):
            raise TypeError("expected list value")
        _lower_sequence(value, dst, [element] * len(value), _vallist_new_uninit, _vallist_delete, _LIST)

    return lower_list


def _tuple_lowerer(elements: list[Lower]) -> Lower:
    def lower_tuple(value: Any, dst: Any) -> None:
        if not isinstance(value, tuple):
            raise TypeError("expected tuple type")
        if len(value) != len(elements):
            raise TypeError("tuple length mismatch")
        _lower_sequence(value, dst, elements, _valtuple_new_uninit, _valtuple_delete, _TUPLE)

    return lower_tuple


def _lower_sequence(values: Sequence[Any], dst: Any, lowers: Sequence[Lower], new: Any, delete: Any, kind: int) -> None:
    address = addressof(dst) + _OF
    count = len(values)
    new(address, count)
    data = _vec(address)[1]
    ctypes.memset(data, 0, count * _STRIDE)  # empty booleans: safe to delete whatever fails below
    try:
        for index, (lower, item) in enumerate(zip(lowers, values, strict=True)):
            lower(item, _val_at(data + index * _STRIDE))
    except BaseException:
        delete(address)
        raise
    dst.kind = kind


def _list_lifter(element: Lift) -> Lift:
    def lift_list(src: Any) -> list[Any]:
        count, data = _vec(addressof(src) + _OF)
        return [element(_val_at(data + index * _STRIDE)) for index in range(count)]

    return lift_list


def _tuple_lifter(elements: list[Lift]) -> Lift:
    def lift_tuple(src: Any) -> tuple[Any, ...]:
        count, data = _vec(addressof(src) + _OF)
        return tuple(lift(_val_at(data + index * _STRIDE)) for index, lift in zip(range(count), elements, strict=False))

    return lift_tuple


def _record_lowerer(fields: list[tuple[str, Lower]]) -> Lower:
    def lower_record(value: Any, dst: Any) -> None:
        address = addressof(dst) + _OF
        count = len(fields)
        _valrecord_new_uninit(address, count)
        data = _vec(address)[1]
        ctypes.memset(data, 0, count * _ENTRY)  # empty names and booleans: safe to delete whatever fails below
        try:
            for index, (name, lower) in enumerate(fields):
                entry = data + index * _ENTRY
                _put_name(entry, name)
                lower(getattr(value, name), _val_at(entry + _ENTRY_VAL))
        except BaseException:
            _valrecord_delete(address)
            raise
        dst.kind = _RECORD

    return lower_record


def _record_lifter(fields: list[tuple[str, Lift]]) -> Lift:
    def lift_record(src: Any) -> wc.Record:
        count, data = _vec(addressof(src) + _OF)
        record = wc.Record()
        attributes = record.__dict__
        for index, (name, lift) in zip(range(count), fields, strict=False):
            attributes[name] = lift(_val_at(data + index * _ENTRY + _ENTRY_VAL))
        return record

    return lift_record


def _lower_flags(value: Any, dst: Any) -> None:
    if not isinstance(value, set):
        raise TypeError("expected set type for Flags type")
    if not all(isinstance(name, str) for name in value):
        raise TypeError("expected set of strings for Flags type")
    address = addressof(dst) + _OF
    _valflags_new_uninit(address, len(value))
    data = _vec(address)[1]
    for index, name in enumerate(value):
        _put_name(data + index * 16, name)
    dst.kind = _FLAGS


def _lift_flags(src: Any) -> set[str]:
    count, data = _vec(addressof(src) + _OF)
    return {_name_at(data + index * 16) for index in range(count)}


class _Case:
    """One case of a variant, option or result, as wasmtime-py matches a value to it."""

    def __init__(self, name: str, ty: Any) -> None:
        self.name = name
        self.lower = lowerer(ty) if ty is not None else None
        self.lift = lifter(ty) if ty is not None else None
        classes: set[type] = set()
        if ty is not None:
            ty.add_classes(classes)
        self.classes = tuple(classes)


def _variant_cases(ty: Any) -> tuple[list[_Case], bool]:
    return [_Case(name, case_ty) for name, case_ty in ty._cases()], bool(ty._tagged())


def _variant_lowerer(ty: Any) -> Lower:
    cases, tagged = _variant_cases(ty)

    def lower_case(value: Any) -> tuple[str, Any]:
        """The case ``value`` is, and its payload in a new boxed value (None without one)."""
        if tagged and not isinstance(value, wc.Variant):
            raise TypeError("expected Variant type")
        for case in cases:
            if tagged:
                if case.name != value.tag:
                    continue
            elif case.lower is None:
                if value is not None:
                    continue
            elif not isinstance(value, case.classes):
                continue
            if case.lower is None:
                return case.name, None
            payload = _VAL()
            case.lower(value.payload if tagged else value, payload)
            return case.name, _val_new(addressof(payload))
        raise ValueError("value not valid for this variant")

    if isinstance(ty, wc.ResultType):

        def lower_result(value: Any, dst: Any) -> None:
            name, boxed = lower_case(value)
            dst.kind = _RESULT
            dst.of.result.is_ok = name == "ok"
            dst.of.result.val = boxed

        return lower_result
    if isinstance(ty, wc.OptionType):

        def lower_option(value: Any, dst: Any) -> None:
            _name, boxed = lower_case(value)
            dst.kind = _OPTION
            dst.of.option = boxed

        return lower_option

    def lower_variant(value: Any, dst: Any) -> None:
        name, boxed = lower_case(value)
        _put_name(addressof(dst) + _OF, name)
        dst.kind = _VARIANT
        dst.of.variant.val = boxed

    return lower_variant


def _variant_lifter(ty: Any) -> Lift:
    cases, tagged = _variant_cases(ty)
    by_name = {case.name: case for case in reversed(cases)}  # the first case of a name wins, as in wasmtime-py

    def lift_case(tag: str, boxed: Any) -> Any:
        case = by_name.get(tag)
        if case is None:
            raise ValueError(f"tag {tag} not found in variant cases")
        if case.lift is None:
            return wc.Variant(tag) if tagged else None
        payload = case.lift(boxed.contents)
        return wc.Variant(tag, payload) if tagged else payload

    if isinstance(ty, wc.ResultType):
        return lambda src: lift_case("ok" if src.of.result.is_ok else "err", src.of.result.val)
    if isinstance(ty, wc.OptionType):

        def lift_option(src: Any) -> Any:
            boxed = src.of.option
            return lift_case("some" if boxed else "none", boxed)

        return lift_option
    return lambda src: lift_case(_name_at(addressof(src) + _OF), src.of.variant.val)


# -- calling exports -----------------------------------------------------------------------------


class ExportPlan:
    """An export's parameter and result conversions, read once per component (None: wasmtime-py's own)."""

    def __init__(self, func_type: Any) -> None:
        params = [ty for _name, ty in func_type.params]
        result = func_type.result
        try:
            self.lowers: list[Lower] | None = [lowerer(ty) for ty in params]
            self.lift: Lift | None = lifter(result) if result is not None else None
        except Unsupported:
            self.lowers = None
            self.lift = None
        self.has_result = result is not None


class FastExport:
    """An instance's exported function, called like a ``wasmtime.component.Func``
    (``func(store, *args)``, then ``func.post_return(store)``) with its plan's conversions."""

    __slots__ = ("func", "plan")

    def __init__(self, func: wc.Func, plan: ExportPlan) -> None:
        self.func = func
        self.plan = plan

    def __call__(self, store: wasmtime.Store, *params: Any) -> Any:
        lowers = self.plan.lowers
        if lowers is None:
            return self.func(store, *params)
        count = len(lowers)
        if len(params) != count:
            raise TypeError(f"wrong number of parameters provided: given {len(params)}, expected {count}")
        args = (_VAL * count)()
        lowered = 0
        context = store._context()
        try:
            for lower, value in zip(lowers, params, strict=True):
                lower(value, args[lowered])
                lowered += 1
            if not self.plan.has_result:
                _raise_error(_func_call(byref(self.func._func), context, args, count, None, 0))
                return None
            result = _VAL()
            _raise_error(_func_call(byref(self.func._func), context, args, count, byref(result), 1))
            try:
                assert self.plan.lift is not None
                return self.plan.lift(result)
            finally:
                _val_delete(byref(result))
        finally:
            for index in range(lowered):
                _val_delete(byref(args[index]))

    def post_return(self, store: wasmtime.Store) -> None:
        _raise_error(_func_post_return(byref(self.func._func), store._context()))


# -- host functions: one linker per component, a table of functions per store ------------------


class HostTarget(Protocol):
    """What a store is bound to: the host functions of one instance, by slot."""

    @property
    def host_functions(self) -> Sequence[Callable[..., Any]]:
        """Called as ``function(None, *args)`` (the store argument wasmtime-py passes is not given)."""

    def host_call_failed(self, error: BaseException) -> None:
        """A host function (or converting its arguments or result) raised ``error``; the guest
        is unwound with a wasmtime error, and the instance should re-raise ``error`` to its caller."""


class _HostEntry:
    """One host function defined in a linker: its slot in each target's table and its conversions."""

    __slots__ = ("has_result", "lifts", "lower", "name", "slot")

    def __init__(self, slot: int, name: str, func_type: Any) -> None:
        self.slot = slot
        self.name = name
        self.has_result = func_type.result is not None
        try:
            self.lifts: list[Lift] | None = [lifter(ty) for _n, ty in func_type.params]
            self.lower: Lower | None = lowerer(func_type.result) if self.has_result else None
        except Unsupported:
            self.lifts = None
            self.lower = None


_entries: dict[int, _HostEntry] = {}
_entry_ids = itertools.count(1)
_targets: dict[int, weakref.ref[HostTarget]] = {}
_target_ids = itertools.count(1)


def bind(store: wasmtime.Store, target: HostTarget) -> None:
    """Make ``store``'s host calls reach ``target`` (held weakly). The store's data then holds
    golemsim's key: ``store.data()`` must not be used on it."""
    key = next(_target_ids)
    _targets[key] = weakref.ref(target, lambda _ref: _targets.pop(key, None))
    _context_set_data(store._context(), key)


def _host_call(data: int | None, context: int, ty: int, args: int, nargs: int, results: int, nresults: int) -> int:
    target: HostTarget | None = None
    try:
        entry = _entries[data or 0]
        reference = _targets.get(_context_get_data(context) or 0)
        target = reference() if reference is not None else None
        if target is None:
            raise wasmtime.WasmtimeError("host call into a worker instance that was dropped")
        function = target.host_functions[entry.slot]
        if entry.lifts is None:
            _slow_host_call(function, context, ty, args, nargs, results)
            return 0
        if nargs != len(entry.lifts) or nresults != entry.has_result:
            raise AssertionError(f"{entry.name} called with {nargs} argument(s) and {nresults} result(s)")
        result = function(None, *[lift(_val_at(args + index * _STRIDE)) for index, lift in enumerate(entry.lifts)])
        if entry.lower is not None:
            entry.lower(result, _val_at(results))
        elif result is not None:
            raise AssertionError(f"host function {entry.name} returned {result!r} but has no result type")
        return 0
    except BaseException as error:  # nothing may escape a ctypes callback
        if target is not None:
            target.host_call_failed(error)
        return _error_address(f"host call failed: {error}")


def _slow_host_call(function: Callable[..., Any], context: int, ty: int, args: int, nargs: int, results: int) -> None:
    """A host function whose types this module does not convert: wasmtime-py's own conversions
    (as its ``func_impl`` does them)."""
    store = wasmtime.StoreContext(ctypes.cast(context, ctypes.POINTER(ffi.wasmtime_context_t)))
    try:
        func_type = wc.FuncType._from_ptr(ctypes.cast(ty, ctypes.POINTER(ffi.wasmtime_component_func_type_t)), store)
        params = func_type.params
        result_type = func_type.result
        values = [
            param_ty.convert_from_c(_val_at(args + index * _STRIDE)) for index, (_n, param_ty) in enumerate(params)
        ]
        assert len(values) == nargs
        result = function(store, *values)
        if result_type is None:
            assert result is None
        else:
            result_type.convert_to_c(store, result, ctypes.pointer(_val_at(results)))
    finally:
        store._invalidate()


def _forget_entry(data: int | None) -> None:
    with contextlib.suppress(Exception):  # also called while the interpreter shuts down
        _entries.pop(data or 0, None)


_host_call_c: Any = _HOST_CALLBACK(_host_call)
_forget_entry_c: Any = _FINALIZER(_forget_entry)
_HOST_CALL_ADDRESS = ctypes.cast(_host_call_c, c_void_p)
_FORGET_ENTRY_ADDRESS = ctypes.cast(_forget_entry_c, c_void_p)


class ComponentCalls:
    """What every instance of one compiled component shares: one linker (WASI p2, and the host
    functions ``functions`` dispatched per store) and the plans of its exports."""

    def __init__(self, engine: wasmtime.Engine, component: wc.Component, functions: list[tuple[str, str]]) -> None:
        self.functions = functions
        """(interface, function) pairs, in slot order: each target's ``host_functions`` follows it."""
        self._exports: dict[str, ExportPlan] = {}
        self._lock = threading.Lock()
        imports = component.type.imports(engine)
        types = {interface: imports[interface].ty.exports(engine) for interface, _name in functions}
        linker = wc.Linker(engine)
        linker.allow_shadowing = True
        linker.add_wasip2()
        by_interface: dict[str, list[tuple[int, str]]] = {}
        for slot, (interface, name) in enumerate(functions):
            by_interface.setdefault(interface, []).append((slot, name))
        with linker.root() as root:
            for interface, named in by_interface.items():
                with root.add_instance(interface) as instance:
                    for slot, name in named:
                        self._define(instance, slot, f"{interface}#{name}", name, types[interface][name].ty)
        self.linker = linker

    @staticmethod
    def _define(instance: Any, slot: int, label: str, name: str, func_type: Any) -> None:
        if not isinstance(func_type, wc.FuncType):
            raise ValueError(f"{label} is a {type(func_type).__name__}, not a function")
        key = next(_entry_ids)
        _entries[key] = _HostEntry(slot, label, func_type)
        encoded = name.encode("utf-8")
        error = _add_func(
            instance.ptr(),
            encoded,
            len(encoded),
            _HOST_CALL_ADDRESS,
            key,
            _FORGET_ENTRY_ADDRESS,
        )
        if error:
            raise wasmtime.WasmtimeError._from_ptr(error)

    def instantiate(self, store: wasmtime.Store, component: wc.Component, target: HostTarget) -> wc.Instance:
        """Instantiate ``component`` in ``store``, whose host calls then reach ``target``."""
        if len(target.host_functions) != len(self.functions):
            raise ValueError(f"{len(target.host_functions)} host functions for {len(self.functions)} slots")
        bind(store, target)
        return self.linker.instantiate(store, component)

    def export(self, instance: wc.Instance, store: wasmtime.Store, name: str) -> FastExport | None:
        """``instance``'s export ``name`` (None if it has none), with the component's plan for it."""
        func = instance.get_func(store, name)
        if func is None:
            return None
        plan = self._exports.get(name)
        if plan is None:
            with self._lock:
                plan = self._exports.get(name) or ExportPlan(func.type(store))
                self._exports[name] = plan
        return FastExport(func, plan)


_calls: weakref.WeakKeyDictionary[wc.Component, ComponentCalls] = weakref.WeakKeyDictionary()
_calls_lock = threading.Lock()


def component_calls(
    engine: wasmtime.Engine, component: wc.Component, functions: list[tuple[str, str]]
) -> ComponentCalls:
    """The shared ComponentCalls of ``component`` (made on first use), defining ``functions``."""
    with _calls_lock:
        calls = _calls.get(component)
        if calls is None:
            calls = _calls[component] = ComponentCalls(engine, component, functions)
    if calls.functions != functions:
        raise ValueError("the host functions of a component changed between its instances")
    return calls


# -- store budget, without releasing the GIL -------------------------------------------------------


def set_fuel(store: wasmtime.Store, fuel: int) -> None:
    error = _set_fuel(store._context(), fuel)
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def get_fuel(store: wasmtime.Store) -> int:
    remaining = c_uint64(0)
    error = _get_fuel(store._context(), byref(remaining))
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)
    return int(remaining.value)


def set_epoch_deadline(store: wasmtime.Store, ticks: int) -> None:
    _set_epoch_deadline(store._context(), ticks)


# -- on or off ----------------------------------------------------------------------------------


def shape_problems() -> list[str]:
    """What differs from the wasmtime-py internals this module relies on (empty: none)."""
    problems = []
    installed = version("wasmtime")
    if installed != PINNED_WASMTIME:
        problems.append(f"wasmtime-py is {installed}, this wrapper was written for {PINNED_WASMTIME}")
    if (_STRIDE, _OF, _ENTRY, _ENTRY_VAL) != (32, 8, 48, 16):
        problems.append(f"wasmtime_component_val_t layout changed: {(_STRIDE, _OF, _ENTRY, _ENTRY_VAL)}")
    kinds = {n: _kind(n) for n in ("BOOL", "U8", "CHAR", "STRING", "LIST", "RECORD", "TUPLE", "VARIANT")}
    kinds |= {n: _kind(n) for n in ("ENUM", "OPTION", "RESULT", "FLAGS")}
    expected = dict(BOOL=0, U8=2, CHAR=11, STRING=12, LIST=13, RECORD=14, TUPLE=15, VARIANT=16)
    expected |= dict(ENUM=17, OPTION=18, RESULT=19, FLAGS=20)
    if kinds != expected:
        problems.append(f"component value kinds changed: {kinds}")
    for owner, names in (
        (wasmtime.Store, ["_context"]),
        (wasmtime.WasmtimeError, ["_from_ptr", "_consume"]),
        (wasmtime.StoreContext, ["_invalidate"]),
        (wc.Linker, ["ptr", "root", "add_wasip2", "instantiate", "allow_shadowing"]),
        (wc.LinkerInstance, ["ptr", "add_instance"]),
        (wc.FuncType, ["_from_ptr", "params", "result"]),
        (wc.ListType, ["element"]),
        (wc.RecordType, ["fields"]),
        (wc.TupleType, ["elements"]),
        (wc.EnumType, ["names", "names_count", "name"]),
        (wc.FlagsType, ["names"]),
        (wc.VariantType, ["cases", "_cases", "_tagged", "add_classes"]),
        (wc.OptionType, ["payload", "_cases", "_tagged", "add_classes"]),
        (wc.ResultType, ["ok", "err", "_cases", "_tagged", "add_classes"]),
        (_enter, ["maybe_raise_last_exn"]),
    ):
        problems += [f"{getattr(owner, '__name__', owner)}.{n} is gone" for n in names if not hasattr(owner, n)]
    if "_func" not in getattr(wc.Func, "__annotations__", {}):
        problems.append("component.Func no longer keeps its wasmtime_component_func_t in _func")
    fields = dict(ffi.wasmtime_component_valunion._fields_)
    for field in ("boolean", "u8", "u32", "u64", "f64", "character", "string", "list", "record", "tuple"):
        if field not in fields:
            problems.append(f"wasmtime_component_valunion has no field {field}")
    return problems


_problems = shape_problems()
_enabled = os.environ.get("GOLEMSIM_FAST_CALLS", "1") != "0" and not _problems
if _problems:
    log.warning("golemsim.core.fast_calls is off (wasmtime-py's own calls are used): %s", "; ".join(_problems))


def enabled() -> bool:
    """Whether new instances use this module (else wasmtime-py's own linker and conversions)."""
    return _enabled


def set_enabled(on: bool) -> None:
    """Turn the wrapper on or off for instances made from now on (benchmarks compare both)."""
    global _enabled
    if on and _problems:
        raise RuntimeError("golemsim.core.fast_calls cannot be used: " + "; ".join(_problems))
    _enabled = on
