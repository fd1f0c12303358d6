"""An OpenAPI 3.1 document generated from an API definition and the functions' WIT types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wasmtime import component as wc

from ..core.templates import FunctionSignature
from ..core.values import INT_RANGES, type_name
from .definition import PROMISES_PATH, ApiDefinition, Arg, Route

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["kind", "message"],
            "properties": {
                "kind": {"type": "string"},
                "message": {"type": "string"},
                "value": {"description": "the typed error, for a business error (409)"},
            },
        }
    },
}

_STANDARD_ERRORS = {
    "400": "bad arguments: the body is not JSON, a field is missing, or a value does not fit its WIT type",
    "500": "the invocation trapped, or the worker failed",
    "503": "the worker is recovering; retry after the Retry-After header's seconds",
}


def json_schema(ty: Any) -> dict[str, Any]:
    """The JSON Schema of a WIT type's JSON form (see golemsim.core.values)."""
    if ty is None:
        return {"type": "null"}
    kind = type(ty)
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return {"type": "integer", "minimum": low, "maximum": high, "format": type_name(ty)}
    if isinstance(ty, wc.Bool):
        return {"type": "boolean"}
    if isinstance(ty, (wc.F32, wc.F64)):
        return {"type": "number", "format": "float" if isinstance(ty, wc.F32) else "double"}
    if isinstance(ty, wc.Char):
        return {"type": "string", "minLength": 1, "maxLength": 1}
    if isinstance(ty, wc.String):
        return {"type": "string"}
    if isinstance(ty, wc.ListType):
        return {"type": "array", "items": json_schema(ty.element)}
    if isinstance(ty, wc.TupleType):
        elements = [json_schema(e) for e in ty.elements]
        return {"type": "array", "prefixItems": elements, "minItems": len(elements), "maxItems": len(elements)}
    if isinstance(ty, wc.RecordType):
        fields = list(ty.fields)
        return {
            "type": "object",
            "properties": {name: json_schema(t) for name, t in fields},
            "required": [name for name, _ in fields],
            "additionalProperties": False,
        }
    if isinstance(ty, wc.EnumType):
        return {"type": "string", "enum": list(ty.names)}
    if isinstance(ty, wc.FlagsType):
        return {"type": "array", "items": {"type": "string", "enum": list(ty.names)}, "uniqueItems": True}
    if isinstance(ty, wc.OptionType):
        return {"oneOf": [{"type": "null"}, json_schema(ty.payload)]}
    if isinstance(ty, wc.ResultType):
        return {"oneOf": [_case("ok", ty.ok), _case("err", ty.err)]}
    if isinstance(ty, wc.VariantType):
        cases = [{"const": n} if t is None else _case(n, t) for n, t in ty.cases]
        return {"oneOf": cases}
    return {"description": f"{type_name(ty)} (cannot cross the JSON boundary)"}


def _case(name: str, ty: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {name: json_schema(ty)},
        "required": [name],
        "additionalProperties": False,
    }


def openapi_document(
    definition: ApiDefinition, signature: Callable[[Route], FunctionSignature | None]
) -> dict[str, Any]:
    """The OpenAPI 3.1 document; a route whose function is not deployed gets untyped schemas."""
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for route in definition.routes:
        operation = _operation(route, signature(route))
        base = f"{route.template}.{route.function}"
        operation_id, n = base, 2
        while operation_id in used_ids:
            operation_id, n = f"{base}.{n}", n + 1
        used_ids.add(operation_id)
        paths.setdefault(route.path.text, {})[route.method.lower()] = {"operationId": operation_id, **operation}
    paths[PROMISES_PATH] = {"post": _complete_promise_operation()}
    return {
        "openapi": "3.1.0",
        "info": {"title": definition.name, "version": definition.version},
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA}},
    }


def _complete_promise_operation() -> dict[str, Any]:
    """The built-in route that completes a worker's promise (definitions cannot use /_golemsim/)."""
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    body = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "the promise id, template/name/promise-..."},
            "value": {"description": "any JSON value; the awaiting worker receives it"},
        },
        "required": ["id", "value"],
        "additionalProperties": False,
    }
    completed = {
        "type": "object",
        "properties": {"completed": {"type": "boolean"}},
        "required": ["completed"],
    }
    return {
        "operationId": "golemsim.complete-promise",
        "tags": ["golemsim"],
        "summary": "Complete a worker's promise (built in)",
        "description": "The worker awaiting the promise resumes with the value. Exactly once: a promise "
        'completed before answers {"completed": false} and keeps its first value.',
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {
                "description": "completed now (true), or completed before (false)",
                "content": {"application/json": {"schema": completed}},
            },
            "400": {
                "description": "the body is not JSON, lacks id or value, or the id is malformed",
                "content": error_ref,
            },
            "404": {"description": "no worker has this promise", "content": error_ref},
            "500": {"description": "the promise's worker failed", "content": error_ref},
        },
    }


def _operation(route: Route, signature: FunctionSignature | None) -> dict[str, Any]:
    params: dict[int, Any] = {}
    if signature is not None and len(signature.params) == len(route.args):
        params = {i: ty for i, (_, ty) in enumerate(signature.params)}
    has_types = bool(params) or (signature is not None and not route.args)
    parameters: list[dict[str, Any]] = []
    for name in route.path.variables:
        typed = [params[i] for i, arg in enumerate(route.args) if arg.source == "path" and arg.name == name]
        schema = json_schema(typed[0]) if typed and _simple(typed[0]) else {"type": "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for i, arg in enumerate(route.args):
        if arg.source in ("query", "header"):
            parameters.append(
                {
                    "name": arg.name,
                    "in": arg.source,
                    "required": _required(arg, params.get(i)),
                    "schema": _text_schema(params.get(i), arg),
                }
            )
    parameters.append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "a retry with the same key returns the first result without running the function again",
            "schema": {"type": "string"},
        }
    )
    operation: dict[str, Any] = {
        "summary": route.summary or f"{route.function} on a {route.template} worker",
        "parameters": parameters,
    }
    if route.description:
        operation["description"] = route.description
    body = _request_body(route, params)
    if body is not None:
        operation["requestBody"] = body
    result_type = signature.result if signature is not None else None
    success: Any = {}
    errors: dict[str, Any] = {}
    if has_types:
        success = json_schema(result_type)
        if isinstance(result_type, wc.ResultType):
            success = json_schema(result_type.ok)
            err_schema = {
                **ERROR_SCHEMA,
                "properties": {
                    "error": {
                        **ERROR_SCHEMA["properties"]["error"],
                        "properties": {
                            **ERROR_SCHEMA["properties"]["error"]["properties"],
                            "value": json_schema(result_type.err),
                        },
                    }
                },
            }
            errors[str(route.response.error_status)] = {
                "description": f"{route.function} returned an error ({type_name(result_type.err)})",
                "content": {"application/json": {"schema": err_schema}},
            }
    responses: dict[str, Any] = {}
    if route.response.status == 204:
        responses["204"] = {"description": "done"}
    else:
        responses[str(route.response.status)] = {
            "description": f"the result of {signature or route.function}",
            "content": {"application/json": {"schema": success}},
        }
    responses.update(errors)
    error_ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for status, description in _STANDARD_ERRORS.items():
        responses.setdefault(status, {"description": description, "content": error_ref})
    operation["responses"] = responses
    return operation


def _simple(ty: Any) -> bool:
    """True for types whose path text the gateway reads directly (numbers, bool, strings, enums)."""
    return type(ty) in INT_RANGES or isinstance(ty, (wc.Bool, wc.F32, wc.F64, wc.Char, wc.String, wc.EnumType))


def _text_schema(ty: Any, arg: Arg) -> dict[str, Any]:
    if ty is None:
        return {"type": "string"}
    inner = ty.payload if isinstance(ty, wc.OptionType) else ty
    if arg.source == "query" and isinstance(inner, wc.ListType) and _simple(inner.element):
        return {"type": "array", "items": json_schema(inner.element)}
    schema = json_schema(inner) if _simple(inner) else {"type": "string", "description": f"JSON: {type_name(inner)}"}
    if arg.has_default:
        schema = {**schema, "default": arg.default}
    return schema


def _required(arg: Arg, ty: Any) -> bool:
    return not arg.has_default and not isinstance(ty, wc.OptionType)


def _request_body(route: Route, params: dict[int, Any]) -> dict[str, Any] | None:
    body_args = [(i, arg) for i, arg in enumerate(route.args) if arg.source == "body"]
    if not body_args:
        return None
    whole = [i for i, arg in body_args if arg.name is None]
    if whole:
        ty = params.get(whole[0])
        schema = json_schema(ty) if whole[0] in params else {}
        return {"required": True, "content": {"application/json": {"schema": schema}}}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for i, arg in body_args:
        assert arg.name is not None
        ty = params.get(i)
        field: dict[str, Any] = json_schema(ty) if i in params else {}
        if arg.has_default:
            field = {**field, "default": arg.default}
        parts = arg.name.split(".")
        target, needed = properties, required
        for part in parts[:-1]:  # a nested field: an object in an object
            holder = target.setdefault(part, {"type": "object", "properties": {}, "required": []})
            if part not in needed:
                needed.append(part)
            target, needed = holder["properties"], holder["required"]
        target[parts[-1]] = field
        if _required(arg, ty):
            needed.append(parts[-1])
    schema_obj = {"type": "object", "properties": properties, "required": required}
    return {"required": bool(required), "content": {"application/json": {"schema": schema_obj}}}
