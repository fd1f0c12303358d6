"""Checking a definition against the deployed templates: each function exists and gets the right arguments."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping

from ..core.errors import BadRequest, GolemError
from ..core.templates import FunctionSignature
from ..core.values import from_json, type_name
from ..yaml_reader import DefinitionError, Problem
from .definition import ApiDefinition, Route


def check_against_templates(
    definition: ApiDefinition, functions: Callable[[str], Mapping[str, FunctionSignature]]
) -> None:
    """Raise DefinitionError listing every route whose template, function or arguments do not fit.

    ``functions(template)`` is the newest deployed version's exports by name; it raises
    TemplateNotFound (whose message is reported as it is) when the template is not deployed.
    """
    problems: list[Problem] = []
    exports: dict[str, Mapping[str, FunctionSignature] | GolemError] = {}
    for route in definition.routes:
        if route.template not in exports:
            try:
                exports[route.template] = functions(route.template)
            except GolemError as error:
                exports[route.template] = error
        found = exports[route.template]
        if isinstance(found, GolemError):
            problems.append(Problem(route.line("template"), f"{route.label}.template", str(found)))
        else:
            problems += _check_route(route, found)
    if problems:
        raise DefinitionError(definition.source, problems)


def _check_route(route: Route, exports: Mapping[str, FunctionSignature]) -> list[Problem]:
    signature = exports.get(route.function)
    if signature is None:
        close = difflib.get_close_matches(route.function, list(exports), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        message = (
            f"template {route.template} has no function {route.function!r}; {hint}it exports: {', '.join(exports)}"
        )
        return [Problem(route.line("function"), f"{route.label}.function", message)]
    if signature.blocked is not None:
        message = f"{signature.name} cannot be served: its {signature.blocked} cannot be passed as JSON"
        return [Problem(route.line("function"), f"{route.label}.function", message)]
    if len(signature.params) != len(route.args):
        params = ", ".join(f"{name}: {_short(ty)}" for name, ty in signature.params) or "none"
        message = (
            f"{signature.name} takes {len(signature.params)} argument(s) ({params}), the route passes {len(route.args)}"
        )
        return [Problem(route.line("args" if route.args else ""), f"{route.label}.args", message)]
    problems = []
    for arg, (name, ty) in zip(route.args, signature.params, strict=True):
        literals = (("value", arg.value, arg.source == "value"), ("default", arg.default, arg.has_default))
        for label, value, present in literals:
            if not present:
                continue
            try:
                from_json(ty, value, f"{signature.name}({name})")
            except BadRequest as error:
                line = arg.default_line if label == "default" else arg.line
                problems.append(Problem(line, f"{arg.field}.{label}", str(error)))
    return problems


def _short(ty: object) -> str:
    """A parameter's type, shortened when it is a long record or variant."""
    text = type_name(ty)
    return text if len(text) <= 40 else text.split("{", 1)[0] + "{...}"
