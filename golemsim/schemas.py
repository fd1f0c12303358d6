"""JSON Schemas of golemsim's two YAML grammars, experiment files and API definitions, for editors and
validators (``golemsim schema experiment|api``; the committed copies are schemas/*.schema.json).

They are made from the same tables the parsers read (golemsim.sim.experiment, golemsim.gateway.definition,
the settings dataclasses), so a new setting shows up in both. A schema checks the shape: keys, types, ranges
and enums. The parsers check more (files exist, path variables are in the path, a workload imports); their
messages, with line numbers, stay the reference.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE_URL = "https://raw.githubusercontent.com/golemsim/golemsim/HEAD/schemas/"
KINDS = ("experiment", "api")

Schema = dict[str, Any]


def _non_negative(kind: type, at_least_one: bool = False) -> Schema:
    """A scalar as ``_scalar`` in golemsim.sim.experiment reads it: the type, and never negative."""
    if kind is bool:
        return {"type": "boolean"}
    if kind is str:
        return {"type": "string"}
    return {"type": "integer" if kind is int else "number", "minimum": 1 if at_least_one else 0}


def _settings(cls: type, *, skip: tuple[str, ...] = ()) -> dict[str, Schema]:
    """The fields of a settings dataclass an experiment file may set: the scalar ones (as ``_settings`` reads)."""
    from .sim.experiment import AT_LEAST_ONE

    hints = typing.get_type_hints(cls)
    return {
        f.name: _non_negative(hints[f.name], f.name in AT_LEAST_ONE)
        for f in dataclasses.fields(cls)
        if f.name not in skip and hints[f.name] in (int, float, bool, str)
    }


def _closed(properties: dict[str, Schema], *, required: tuple[str, ...] = (), **more: Any) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(more)
    return schema


def experiment_schema() -> Schema:
    from .core.policy import COMPACTION_MODES
    from .sim.clients import ClientSettings
    from .sim.experiment import APP_KEYS, TOP, WORKLOAD_KEYS
    from .sim.nemesis import FAULT_KINDS, RANDOM_KINDS
    from .sim.network import NetworkSettings
    from .sim.services import ServiceSettings
    from .sim.shipped_apps import SHIPPED_APPS
    from .sim.storage import StorageSettings
    from .sim.world import ClusterSettings

    assert set(APP_KEYS) == {"templates", "api", "workload", "invariants"}
    app_files = _closed(
        {
            "templates": {
                "type": "object",
                "description": "template name -> its folder (or .wasm file), relative to the experiment file",
                "additionalProperties": {"type": "string"},
                "minProperties": 1,
            },
            "api": {"type": "string", "description": "the API definition file, relative to the experiment file"},
            "workload": {
                "type": "string",
                "description": "a Workload class: file.py:Class (relative to the experiment file) or module:Class",
            },
            "invariants": {
                "type": "array",
                "description": "invariant functions: file.py:function or module:function",
                "items": {"type": "string"},
            },
        },
        required=("templates", "api", "workload"),
        description="an app named by its files",
    )
    snapshots = _closed(
        {
            "every_invocations": {"type": "integer", "minimum": 1},
            "max_oplog_entries": {"type": "integer", "minimum": 1},
            "compaction": {"enum": list(COMPACTION_MODES)},
        },
        anyOf=[{"required": ["every_invocations"]}, {"required": ["max_oplog_entries"]}],
    )
    cluster = _closed(
        {**_settings(ClusterSettings, skip=("limits", "retry", "snapshots")), "snapshots": snapshots},
    )
    assert WORKLOAD_KEYS == ("keys", "distribution", "zipf_s")
    workload = _closed(
        {
            **_settings(ClientSettings),
            "mode": {"enum": ["open", "closed"]},
            "keys": {"type": "integer", "minimum": 1},
            "distribution": {"enum": ["uniform", "zipf"]},
            "zipf_s": {"type": "number", "minimum": 0},
        }
    )
    number = {"type": "number", "minimum": 0}
    fault = _closed(
        {
            "at": {**number, "description": "simulated seconds from the start"},
            "kind": {"enum": list(FAULT_KINDS)},
            "target": {"type": "string", "description": "a node (node-1, ...), or the template of a template-update"},
            "duration": number,
            "groups": {
                "type": "array",
                "description": "a partition's two sides: lists of endpoint names",
                "items": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "minItems": 2,
                "maxItems": 2,
            },
            "rate": number,
            "factor": number,
            "mode": {"type": "string"},
            "source": {"type": "string", "description": "a template-update's new folder, relative to this file"},
        },
        required=("at", "kind"),
        allOf=[
            {"if": {"properties": {"kind": {"const": "partition"}}}, "then": {"required": ["groups"]}},
            {
                "if": {"properties": {"kind": {"const": "template-update"}}},
                "then": {"required": ["target", "source"], "properties": {"mode": {"enum": ["auto", "snapshot"]}}},
            },
            {
                "if": {"properties": {"kind": {"const": "upgrade"}}},
                "then": {"properties": {"mode": {"enum": ["drain", "hard"]}}},
            },
        ],
    )
    random_faults = _closed(
        {
            "rates": {
                "type": "object",
                "description": "faults per minute, by kind",
                "propertyNames": {"enum": list(RANDOM_KINDS)},
                "additionalProperties": number,
            },
            "start": number,
            "end": number,
            "mean_duration": number,
        },
        required=("rates",),
    )
    properties: dict[str, Schema] = {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "app": {
            "description": "a shipped app's name, or an app named by its files",
            "oneOf": [{"enum": sorted(SHIPPED_APPS)}, app_files],
        },
        "seed": {"type": "integer", "minimum": 0},
        "cluster": cluster,
        "network": _closed(_settings(NetworkSettings)),
        "storage": _closed(_settings(StorageSettings)),
        "services": _closed(_settings(ServiceSettings)),
        "workload": workload,
        "faults": {"type": "array", "items": fault},
        "random_faults": random_faults,
        "lambda_baseline": {"type": "boolean", "description": "also run the lambda baseline (checkout only)"},
        "max_duration": number,
        "check_limit": {"type": "integer", "minimum": 0},
        "store": {"enum": ["sqlite", "memory"]},
    }
    assert set(properties) == set(TOP), set(properties) ^ set(TOP)
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "experiment.schema.json",
        "title": "golemsim experiment file",
        "description": "Which app runs on which cluster, under which faults (golemsim sim run FILE).",
        **_closed(properties, required=("name", "app")),
    }


def _any_case(words: tuple[str, ...]) -> str:
    """A regex matching any of ``words`` in any letter case (JSON Schema regexes have no flags)."""
    return "^(" + "|".join("".join(f"[{c.upper()}{c.lower()}]" for c in word) for word in words) + ")$"


def api_schema() -> Schema:
    from .gateway.definition import METHODS, RESPONSE_KEYS, ROUTE_OPTIONAL, ROUTE_REQUIRED, SOURCES, TOP_KEYS

    name = {"type": "string", "pattern": r"^[^/\s]([^/]*[^/\s])?$"}
    string = {"type": "string"}
    arg_sources = {source: {} if source == "value" else string for source in SOURCES}
    arg = {
        "oneOf": [
            {"const": "body", "description": "the whole request body"},
            _closed(
                {**arg_sources, "default": {"description": "used when a query parameter, header or field is absent"}},
                oneOf=[
                    {
                        "required": [source],
                        **({"not": {"required": ["default"]}} if source in ("path", "value") else {}),
                    }
                    for source in SOURCES
                ],
            ),
        ]
    }
    response = _closed(
        {
            "status": {"type": "integer", "minimum": 200, "maximum": 299},
            "error-status": {"type": "integer", "minimum": 400, "maximum": 599},
            "headers": {"type": "object", "additionalProperties": string},
        }
    )
    assert set(response["properties"]) == set(RESPONSE_KEYS)
    route = _closed(
        {
            "method": {"type": "string", "pattern": _any_case(METHODS)},
            "path": {"type": "string", "pattern": "^/", "description": "a path template: /carts/{user}"},
            "template": name,
            "worker": {
                "oneOf": [
                    {"type": "string", "description": "the worker's name; may use path variables: cart-{user}"},
                    _closed({"fresh": {"type": "string"}}, required=("fresh",), description="a new worker per call"),
                ]
            },
            "function": string,
            "args": {"type": "array", "items": arg},
            "response": response,
            "summary": string,
            "description": string,
        },
        required=ROUTE_REQUIRED,
    )
    assert set(route["properties"]) == {*ROUTE_REQUIRED, *ROUTE_OPTIONAL}
    properties: dict[str, Schema] = {
        "name": string,
        "version": {"type": ["string", "number"], "description": "such as 1 or '1.2'"},
        "services": {
            "type": "string",
            "pattern": r"^[^:]+:[A-Za-z_][A-Za-z0-9_]*$",
            "description": "module:callable making the services `golemsim serve` gives its executor",
        },
        "templates": {
            "type": "object",
            "description": "template name -> its folder, relative to this file (deployed by `golemsim serve`)",
            "propertyNames": name,
            "additionalProperties": string,
        },
        "routes": {"type": "array", "items": route, "minItems": 1},
    }
    assert set(properties) == set(TOP_KEYS)
    return {
        "$schema": DRAFT,
        "$id": BASE_URL + "api.schema.json",
        "title": "golemsim API definition",
        "description": "Which HTTP routes invoke which worker functions (golemsim serve, and the simulated gateway).",
        **_closed(properties, required=("routes",)),
    }


def schema(kind: str) -> Schema:
    """The JSON Schema of ``experiment`` files or ``api`` definitions."""
    return {"experiment": experiment_schema, "api": api_schema}[kind]()
