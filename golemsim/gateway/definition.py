"""API definitions: which HTTP routes invoke which worker functions, read from YAML and checked.

A definition is plain data; nothing here knows about HTTP servers or executors, so the real
server (``golemsim serve``) and the simulated gateway load the same files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..yaml_reader import DefinitionError, Problem, Reader, compose, line_of
from .paths import NamePattern, PathTemplate, TemplateSyntaxError

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SOURCES = ("path", "query", "header", "body", "value")
OPENAPI_PATH = "/openapi.json"
"""Served by every gateway: the OpenAPI document generated from the definition."""
BUILTIN_SEGMENT = "_golemsim"
"""The first path segment of the gateway's built-in routes; a definition cannot use it."""
PROMISES_PATH = f"/{BUILTIN_SEGMENT}/promises"
"""Built in: ``POST`` with ``{"id": ..., "value": ...}`` completes a worker's promise."""

TOP_KEYS = ("name", "version", "services", "templates", "routes")
ROUTE_REQUIRED = ("method", "path", "template", "worker", "function")
ROUTE_OPTIONAL = ("args", "response", "summary", "description")
RESPONSE_KEYS = ("status", "error-status", "headers")


@dataclass(frozen=True)
class Arg:
    """Where one argument of the invoked function comes from."""

    source: str
    """One of path, query, header, body (the whole body when ``name`` is None) or value (a literal)."""
    name: str | None = None
    """The path variable, query parameter, header or body field (dotted for nested fields)."""
    value: Any = None
    """The literal, for ``source == "value"``."""
    has_default: bool = False
    default: Any = None
    """Used when a query parameter, header or body field is absent."""
    line: int = 0
    field: str = ""
    default_line: int = 0

    def describe(self) -> str:
        if self.source == "value":
            return f"the literal {self.value!r}"
        if self.source == "body":
            return "the request body" if self.name is None else f"body field {self.name!r}"
        label = {"path": "path variable", "query": "query parameter", "header": "header"}[self.source]
        return f"{label} {self.name!r}"


@dataclass(frozen=True)
class WorkerSpec:
    """How a request names its worker: a pattern over path variables, or a fresh worker per request."""

    pattern: NamePattern | None = None
    fresh_prefix: str | None = None
    """For a fresh worker: ``prefix + id``; the id derives from the Idempotency-Key when one is sent."""


@dataclass(frozen=True)
class ResponseSpec:
    status: int = 200
    """The status of a success (a WIT result's ``ok``, or any result of a function without one)."""
    error_status: int = 409
    """The status of a WIT result's ``err`` (a typed business error)."""
    headers: dict[str, NamePattern] = field(default_factory=dict)
    """Extra headers; values may use path variables and ``{worker}``."""


@dataclass(frozen=True)
class Route:
    index: int
    method: str
    path: PathTemplate
    template: str
    worker: WorkerSpec
    function: str
    args: tuple[Arg, ...]
    response: ResponseSpec
    summary: str | None = None
    description: str | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    """Line of each field (``method``, ``function``, ``args``, ...) and of the route itself (``""``)."""

    @property
    def label(self) -> str:
        return f"routes[{self.index}]"

    @property
    def uses_body(self) -> bool:
        return any(arg.source == "body" for arg in self.args)

    def line(self, key: str = "") -> int:
        return self.lines.get(key, self.lines.get("", 0))

    def __str__(self) -> str:
        return f"{self.method} {self.path.text}"


@dataclass(frozen=True)
class ApiDefinition:
    """A loaded, checked API definition."""

    routes: tuple[Route, ...]
    name: str = "golemsim API"
    version: str = "1"
    templates: dict[str, Path] = field(default_factory=dict)
    """Template name -> folder, deployed by ``serve`` on start when not yet deployed."""
    services: str | None = None
    """``module:callable`` making the ServiceRegistry that ``serve`` gives its executor, if set."""
    source: str = "<definition>"
    lines: dict[str, int] = field(default_factory=dict, compare=False)


def load_api_definition(path: str | Path) -> ApiDefinition:
    """Read and check a definition file; DefinitionError lists every mistake with its line and field."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        reason = f"cannot read the definition: {error.strerror or error}"
        raise DefinitionError(str(path), [Problem(0, "", reason)]) from None
    return parse_api_definition(text, source=str(path), base=file.resolve().parent)


def parse_api_definition(text: str, *, source: str = "<definition>", base: Path | None = None) -> ApiDefinition:
    """Check a definition given as YAML text; template folders are relative to ``base``."""
    root = compose(text, source)
    reader = Reader()
    if root is None:
        raise DefinitionError(source, [Problem(1, "", "the file is empty; it needs at least `routes:`")])
    top = reader.mapping(root, "", required=("routes",), optional=tuple(k for k in TOP_KEYS if k != "routes"))
    if top is None:
        raise DefinitionError(source, reader.problems)
    name = reader.string(top["name"], "name") if "name" in top else None
    version = _version(reader, top["version"]) if "version" in top else None
    services = _services(reader, top["services"]) if "services" in top else None
    templates = _templates(reader, top["templates"], base or Path.cwd()) if "templates" in top else {}
    routes: list[Route] = []
    seen: dict[tuple[str, tuple[str | None, ...]], tuple[int, str]] = {}
    if "routes" in top:
        nodes = reader.sequence(top["routes"], "routes")
        if nodes is not None and not nodes:
            reader.report(top["routes"], "routes", "the list is empty; define at least one route")
        for index, node in enumerate(nodes or []):
            route = _route(reader, node, index, seen)
            if route is not None:
                routes.append(route)
    if reader.problems:
        raise DefinitionError(source, reader.problems)
    return ApiDefinition(
        tuple(routes),
        name=name or "golemsim API",
        version=version or "1",
        templates=templates,
        services=services,
        source=source,
        lines={key: line_of(node) for key, node in top.items()},
    )


def _version(reader: Reader, node: yaml.Node) -> str | None:
    value = reader.constant(node)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        reader.report(node, "version", "expected a version such as 1 or '1.2'")
        return None
    return str(value)


def _services(reader: Reader, node: yaml.Node) -> str | None:
    text = reader.string(node, "services")
    if text is None:
        return None
    module, colon, factory = text.partition(":")
    if not colon or not module or not factory.isidentifier():
        reader.report(node, "services", f"expected 'module:callable', like golemsim.shop:ShopServices, got {text!r}")
        return None
    return text


def _templates(reader: Reader, node: yaml.Node, base: Path) -> dict[str, Path]:
    entries = reader.mapping(node, "templates", open_keys=True)
    folders: dict[str, Path] = {}
    for name, value in (entries or {}).items():
        where = f"templates.{name}"
        if not _valid_name(name):
            reader.report(value, where, "a template name must be non-empty, without '/' or surrounding spaces")
            continue
        text = reader.string(value, where)
        if text is None:
            continue
        folder = (base / text).resolve()
        if not (folder / "golemsim.toml").is_file():
            reader.report(value, where, f"no template folder at {folder} (a folder with a golemsim.toml)")
            continue
        folders[name] = folder
    return folders


def _valid_name(text: str) -> bool:
    return bool(text) and "/" not in text and text == text.strip()


def _route(
    reader: Reader, node: yaml.Node, index: int, seen: dict[tuple[str, tuple[str | None, ...]], tuple[int, str]]
) -> Route | None:
    where = f"routes[{index}]"
    before = len(reader.problems)
    fields = reader.mapping(node, where, required=ROUTE_REQUIRED, optional=ROUTE_OPTIONAL)
    if fields is None:
        return None
    lines = {"": line_of(node), **{key: line_of(value) for key, value in fields.items()}}

    method = reader.string(fields["method"], f"{where}.method") if "method" in fields else None
    if method is not None and method.upper() not in METHODS:
        reader.report(fields["method"], f"{where}.method", f"{method!r} is not one of {', '.join(METHODS)}")
        method = None

    path: PathTemplate | None = None
    text = reader.string(fields["path"], f"{where}.path") if "path" in fields else None
    if text is not None:
        try:
            path = PathTemplate.parse(text)
        except TemplateSyntaxError as error:
            reader.report(fields["path"], f"{where}.path", str(error))
    if method is not None and method.upper() == "GET" and path is not None and path.text == OPENAPI_PATH:
        reader.report(
            fields["path"], f"{where}.path", f"GET {OPENAPI_PATH} is reserved for the generated OpenAPI document"
        )
    if path is not None and path.segments[:1] == (BUILTIN_SEGMENT,):
        reader.report(
            fields["path"],
            f"{where}.path",
            f"paths under /{BUILTIN_SEGMENT}/ are reserved for golemsim's built-in routes (POST {PROMISES_PATH})",
        )

    if method is not None and path is not None:  # a duplicate is reported even if other fields are wrong too
        first = seen.setdefault((method.upper(), path.shape), (index, path.text))
        if first[0] != index:
            same = "" if first[1] == path.text else f" (as {first[1]})"
            message = f"duplicate route: {method.upper()} {path.text} is already routes[{first[0]}]{same}"
            reader.report(node, where, message)

    template = reader.string(fields["template"], f"{where}.template") if "template" in fields else None
    if template is not None and not _valid_name(template):
        reader.report(fields["template"], f"{where}.template", "a template name has no '/' and no surrounding spaces")
    function = reader.string(fields["function"], f"{where}.function") if "function" in fields else None
    worker = _worker(reader, fields["worker"], f"{where}.worker", path) if "worker" in fields else None

    args: list[Arg] = []
    if "args" in fields:
        for i, arg_node in enumerate(reader.sequence(fields["args"], f"{where}.args") or []):
            arg = _arg(reader, arg_node, f"{where}.args[{i}]", path)
            if arg is not None:
                args.append(arg)
    response = _response(reader, fields["response"], f"{where}.response", path) if "response" in fields else None
    summary = reader.string(fields["summary"], f"{where}.summary") if "summary" in fields else None
    description = reader.string(fields["description"], f"{where}.description") if "description" in fields else None

    if len(reader.problems) > before:
        return None
    assert method is not None and path is not None and template is not None
    assert function is not None and worker is not None
    return Route(
        index,
        method.upper(),
        path,
        template,
        worker,
        function,
        tuple(args),
        response or ResponseSpec(),
        summary,
        description,
        lines,
    )


def _unknown_variables(names: tuple[str, ...], path: PathTemplate | None, extra: tuple[str, ...] = ()) -> list[str]:
    if path is None:
        return []  # the path itself is wrong and reported; do not pile on
    return [name for name in names if name not in path.variables and name not in extra]


def _not_in_path(names: list[str], path: PathTemplate) -> str:
    listed = ", ".join("{" + n + "}" for n in names)
    known = ", ".join("{" + v + "}" for v in path.variables) or "none"
    verb = "is not a variable" if len(names) == 1 else "are not variables"
    return f"{listed} {verb} of the path {path.text} (it has: {known})"


def _worker(reader: Reader, node: yaml.Node, where: str, path: PathTemplate | None) -> WorkerSpec | None:
    if isinstance(node, yaml.MappingNode):
        fields = reader.mapping(node, where, required=("fresh",))
        if fields is None or "fresh" not in fields:
            return None
        prefix = reader.string(fields["fresh"], f"{where}.fresh", empty=True)
        if prefix is None:
            return None
        if "/" in prefix or "{" in prefix or "}" in prefix or prefix != prefix.lstrip():
            reader.report(
                fields["fresh"], f"{where}.fresh", "the prefix must not contain '/', braces or leading spaces"
            )
            return None
        return WorkerSpec(fresh_prefix=prefix)
    text = reader.string(node, where)
    if text is None:
        return None
    try:
        pattern = NamePattern.parse(text)
    except TemplateSyntaxError as error:
        reader.report(node, where, str(error))
        return None
    literal = pattern.fill(dict.fromkeys(pattern.variables, "x"))
    if "/" in literal or literal != literal.strip():
        reader.report(node, where, "a worker name has no '/' and no surrounding spaces")
        return None
    unknown = _unknown_variables(pattern.variables, path)
    if unknown and path is not None:
        reader.report(node, where, _not_in_path(unknown, path))
        return None
    return WorkerSpec(pattern=pattern)


def _arg(reader: Reader, node: yaml.Node, where: str, path: PathTemplate | None) -> Arg | None:
    line = line_of(node)
    if isinstance(node, yaml.ScalarNode):
        if reader.constant(node) == "body":
            return Arg("body", line=line, field=where)
        reader.report(node, where, f"expected `body` or a mapping with one of: {', '.join(SOURCES)}")
        return None
    fields = reader.mapping(node, where, optional=(*SOURCES, "default"))
    if fields is None:
        return None
    sources = [key for key in SOURCES if key in fields]
    if len(sources) != 1:
        found = f"got {', '.join(sources)}" if sources else "got none"
        reader.report(node, where, f"needs exactly one of: {', '.join(SOURCES)} ({found})")
        return None
    source = sources[0]
    value_node = fields[source]
    has_default = "default" in fields
    default = reader.constant(fields["default"]) if has_default else None
    if has_default and source in ("path", "value"):
        reader.report(fields["default"], f"{where}.default", f"a {source} argument has no default")
        return None
    if source == "value":
        return Arg("value", value=reader.constant(value_node), line=line, field=where)
    name = reader.string(value_node, f"{where}.{source}")
    if name is None:
        return None
    if source == "path" and path is not None and name not in path.variables:
        reader.report(value_node, f"{where}.path", _not_in_path([name], path))
        return None
    if source == "body" and any(not part for part in name.split(".")):
        reader.report(value_node, f"{where}.body", f"{name!r} is not a field name (use a.b for a nested field)")
        return None
    default_line = line_of(fields["default"]) if has_default else 0
    return Arg(
        source, name, has_default=has_default, default=default, line=line, field=where, default_line=default_line
    )


def _response(reader: Reader, node: yaml.Node, where: str, path: PathTemplate | None) -> ResponseSpec | None:
    fields = reader.mapping(node, where, optional=RESPONSE_KEYS)
    if fields is None:
        return None
    spec = ResponseSpec()
    if "status" in fields:
        status = reader.integer(fields["status"], f"{where}.status")
        if status is not None and not 200 <= status <= 299:
            reader.report(fields["status"], f"{where}.status", f"a success status is 200-299, got {status}")
        elif status is not None:
            spec = ResponseSpec(status, spec.error_status, spec.headers)
    if "error-status" in fields:
        status = reader.integer(fields["error-status"], f"{where}.error-status")
        if status is not None and not 400 <= status <= 599:
            reader.report(fields["error-status"], f"{where}.error-status", f"an error status is 400-599, got {status}")
        elif status is not None:
            spec = ResponseSpec(spec.status, status, spec.headers)
    if "headers" in fields:
        headers: dict[str, NamePattern] = {}
        for name, value in (reader.mapping(fields["headers"], f"{where}.headers", open_keys=True) or {}).items():
            at = f"{where}.headers.{name}"
            text = reader.string(value, at, empty=True)
            if text is None:
                continue
            try:
                pattern = NamePattern.parse(text)
            except TemplateSyntaxError as error:
                reader.report(value, at, str(error))
                continue
            unknown = _unknown_variables(pattern.variables, path, extra=("worker",))
            if unknown and path is not None:
                reader.report(value, at, _not_in_path(unknown, path) + "; {worker} is the worker's name")
                continue
            headers[name] = pattern
        spec = ResponseSpec(spec.status, spec.error_status, headers)
    return spec
