"""WIT value types read once: wasmtime-py's type views, with their parts read through FFI a single time.

A wasmtime-py ``RecordType`` reads its fields through FFI each time ``.fields`` is asked for
(and a variant its cases, a list its element, and so on, each part a fresh object that reads
its own parts again). golemsim keeps an exported function's types for as long as the template
is deployed and converts JSON with them on every invocation (``values.from_json`` /
``to_json``), and the gateway reads them per request. ``cached(ty)`` gives the same type as a
subclass of the same wasmtime-py class whose parts were read once, recursively: ``isinstance``
checks, ``_cases()``, ``_tagged()`` and ``add_classes`` work as before, without FFI.

Like golemsim.core.fast_calls, this relies on the shape of wasmtime-py 50.0.1's type classes
(the properties named below); fast_calls.shape_problems checks them.
"""

from __future__ import annotations

from typing import Any

from wasmtime import component as wc


class _Cached:
    """What the cached views share: no FFI pointer, equality by structure."""

    _parts: tuple[Any, ...] = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Cached) and type(other) is type(self) and other._parts == self._parts

    __hash__ = None  # type: ignore[assignment]

    def _tagged(self) -> bool:
        return self._tagged_once  # type: ignore[attr-defined,no-any-return]


class _List(_Cached, wc.ListType):  # type: ignore[misc]
    element = property(lambda self: self._parts[0])


class _Record(_Cached, wc.RecordType):  # type: ignore[misc]
    fields = property(lambda self: list(self._parts))


class _Tuple(_Cached, wc.TupleType):  # type: ignore[misc]
    elements = property(lambda self: list(self._parts))


class _Variant(_Cached, wc.VariantType):  # type: ignore[misc]
    cases = property(lambda self: list(self._parts))


class _Enum(_Cached, wc.EnumType):  # type: ignore[misc]
    names = property(lambda self: list(self._parts))
    names_count = property(lambda self: len(self._parts))

    def name(self, n: int) -> str | None:
        return self._parts[n] if 0 <= n < len(self._parts) else None


class _Flags(_Cached, wc.FlagsType):  # type: ignore[misc]
    names = property(lambda self: list(self._parts))


class _Option(_Cached, wc.OptionType):  # type: ignore[misc]
    payload = property(lambda self: self._parts[0])


class _Result(_Cached, wc.ResultType):  # type: ignore[misc]
    ok = property(lambda self: self._parts[0])
    err = property(lambda self: self._parts[1])


def _view(cls: Any, parts: tuple[Any, ...]) -> Any:
    view = cls.__new__(cls)
    view._parts = parts
    if isinstance(view, (wc.VariantType, wc.OptionType, wc.ResultType)):
        view._tagged_once = wc.VariantType._tagged(view)  # wasmtime-py's rule, over the cached cases
    return view


def cached(ty: Any) -> Any:
    """``ty`` (a wasmtime-py value type, or None) with its parts read once; scalars as they are."""
    if ty is None or isinstance(ty, _Cached):
        return ty
    if isinstance(ty, wc.ListType):
        return _view(_List, (cached(ty.element),))
    if isinstance(ty, wc.RecordType):
        return _view(_Record, tuple((name, cached(field)) for name, field in ty.fields))
    if isinstance(ty, wc.TupleType):
        return _view(_Tuple, tuple(cached(element) for element in ty.elements))
    if isinstance(ty, wc.VariantType):
        return _view(_Variant, tuple((name, cached(case)) for name, case in ty.cases))
    if isinstance(ty, wc.EnumType):
        return _view(_Enum, tuple(ty.names))
    if isinstance(ty, wc.FlagsType):
        return _view(_Flags, tuple(ty.names))
    if isinstance(ty, wc.OptionType):
        return _view(_Option, (cached(ty.payload),))
    if isinstance(ty, wc.ResultType):
        return _view(_Result, (cached(ty.ok), cached(ty.err)))
    return ty  # scalars hold no FFI parts; resources, streams and futures are left as they are
