"""Binding a request's parts to a function's arguments, typed by the function's WIT signature."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wasmtime import component as wc

from ..core.errors import BadArgument, BadRequest
from ..core.templates import FunctionSignature
from ..core.values import INT_RANGES, type_name
from .definition import Arg, Route

_INTEGERS = tuple(INT_RANGES)  # the WIT integer types
_TEXTS = (wc.String, wc.Char, wc.EnumType)

_ABSENT = object()


class MissingArgument(BadRequest):
    """A query parameter, header or body field the route needs was not sent."""


class BadBody(BadRequest):
    """The request body is missing or is not JSON."""


def parse_body(body: bytes) -> Any:
    """The JSON body; BadBody when it is empty or not JSON."""
    if not body.strip():
        raise BadBody("this route takes a JSON body, and the request has none")
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise BadBody("the request body is not UTF-8 text") from None
    except ValueError as error:
        raise BadBody(f"the request body is not valid JSON: {error}") from None


def bind_args(
    route: Route,
    signature: FunctionSignature,
    variables: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: Any = None,
) -> list[Any]:
    """The JSON arguments for ``signature``, read from the request.

    Path variables, query parameters and headers are text: each is read as the parameter's type
    (``"42"`` for a u32 is 42). An absent optional part takes its default, or null for an option.
    The values are checked against their WIT types once, by the executor when it accepts the
    invocation; its BadArgument names the parameter, which ``describe_bad_argument`` turns into
    the part of the request it came from.
    """
    params = signature.params
    if len(params) != len(route.args):
        raise BadRequest(
            f"{route} passes {len(route.args)} argument(s) to {signature}, which takes {len(params)}"
        )  # also checked when the server starts; a redeployed template may change its arity
    if signature.blocked is not None:
        raise BadRequest(f"{signature} cannot be invoked through golemsim: its {signature.blocked} is not JSON")
    values = []
    for arg, (name, ty) in zip(route.args, params, strict=True):
        what = f"{arg.describe()} (parameter {name} of {signature.name})"
        values.append(_value(arg, ty, what, variables, query, headers, body))
    return values


def describe_bad_argument(route: Route, error: BadArgument) -> str:
    """The executor's complaint about an argument, prefixed with where the route took it from."""
    if 0 <= error.index < len(route.args):
        return f"{route.args[error.index].describe()}: {error}"
    return str(error)


def _value(
    arg: Arg,
    ty: Any,
    what: str,
    variables: Mapping[str, str],
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: Any,
) -> Any:
    if arg.source == "value":
        return arg.value
    if arg.source == "path":
        assert arg.name is not None
        return from_text(ty, variables[arg.name], what)
    if arg.source == "query":
        assert arg.name is not None
        texts = query.get(arg.name)
        if texts is None:
            return _absent(arg, ty, what)
        if isinstance(ty, wc.ListType):
            return [from_text(ty.element, text, what) for text in texts]
        return from_text(ty, texts[-1], what)
    if arg.source == "header":
        assert arg.name is not None
        text = headers.get(arg.name.lower())
        return _absent(arg, ty, what) if text is None else from_text(ty, text, what)
    if arg.name is None:
        return body
    found = field_of(body, arg.name)
    return _absent(arg, ty, what) if found is _ABSENT else found


def field_of(body: Any, dotted: str) -> Any:
    """``body["a"]["b"]`` for ``"a.b"``, or _ABSENT."""
    value = body
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _absent(arg: Arg, ty: Any, what: str) -> Any:
    if arg.has_default:
        return arg.default
    if isinstance(ty, wc.OptionType):
        return None
    raise MissingArgument(f"{what} is required")


def from_text(ty: Any, text: str, what: str) -> Any:
    """A text (from a path, query or header) as a JSON value of type ``ty``."""
    if isinstance(ty, _INTEGERS):
        try:
            return int(text, 10)
        except ValueError:
            raise BadRequest(f"{what}: expected {type_name(ty)}, got {text!r}") from None
    if isinstance(ty, (wc.F32, wc.F64)):
        try:
            return float(text)
        except ValueError:
            raise BadRequest(f"{what}: expected a number, got {text!r}") from None
    if isinstance(ty, wc.Bool):
        if text.lower() not in ("true", "false"):
            raise BadRequest(f"{what}: expected true or false, got {text!r}")
        return text.lower() == "true"
    if isinstance(ty, _TEXTS):
        return text
    if isinstance(ty, wc.OptionType):
        return from_text(ty.payload, text, what)
    try:  # records, lists, variants, ...: JSON text; anything else is left to the WIT check to refuse
        return json.loads(text)
    except ValueError:
        return text
