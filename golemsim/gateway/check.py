"""Checking a definition against the deployed templates: each function exists and gets the right arguments."""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import BadRequest, GolemError, TemplateNotFound
from ..core.templates import FunctionSignature
from ..core.values import from_json
from .definition import ApiDefinition
from .nodes import DefinitionError, Problem


def check_against_templates(definition: ApiDefinition, signature: Callable[[str, str], FunctionSignature]) -> None:
    """Raise DefinitionError listing every route whose template, function or arguments do not fit.

    ``signature(template, function)`` is the deployed function's signature; it raises
    TemplateNotFound or FunctionNotFound (whose messages are reported as they are).
    """
    problems: list[Problem] = []
    for route in definition.routes:
        try:
            found = signature(route.template, route.function)
        except GolemError as error:
            field = "template" if isinstance(error, TemplateNotFound) else "function"
            problems.append(Problem(route.line(field), f"{route.label}.{field}", str(error)))
            continue
        if found.blocked is not None:
            problems.append(
                Problem(
                    route.line("function"),
                    f"{route.label}.function",
                    f"{found} cannot be served: its {found.blocked} cannot be passed as JSON",
                )
            )
            continue
        if len(found.params) != len(route.args):
            taken = ", ".join(name for name, _ in found.params) or "none"
            problems.append(
                Problem(
                    route.line("args" if route.args else ""),
                    f"{route.label}.args",
                    f"{found} takes {len(found.params)} argument(s) ({taken}), the route passes {len(route.args)}",
                )
            )
            continue
        for arg, (name, ty) in zip(route.args, found.params, strict=True):
            literals = (("value", arg.value, arg.source == "value"), ("default", arg.default, arg.has_default))
            for label, value, present in literals:
                if not present:
                    continue
                try:
                    from_json(ty, value, f"{found.name}({name})")
                except BadRequest as error:
                    line = arg.default_line if label == "default" else arg.line
                    problems.append(Problem(line, f"{arg.field}.{label}", str(error)))
    if problems:
        raise DefinitionError(definition.source, problems)
