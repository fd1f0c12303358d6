"""Reading YAML files node by node with their line numbers, collecting every mistake instead of stopping at the first.

Shared by the API definitions (golemsim.gateway) and the experiment files (golemsim.sim).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from .core.errors import BadRequest


@dataclass(frozen=True)
class Problem:
    """One mistake in a YAML file: where it is and what is wrong."""

    line: int
    field: str
    message: str

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class DefinitionError(BadRequest):
    """A YAML file (an API definition, an experiment) has mistakes; ``problems`` lists every one, in file order."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(p.format(source) for p in self.problems))


def line_of(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


@dataclass
class Reader:
    """Turns composed YAML nodes into plain values, recording a Problem for each mistake."""

    problems: list[Problem] = field(default_factory=list)

    def report(self, node: yaml.Node | int, path: str, message: str) -> None:
        line = node if isinstance(node, int) else line_of(node)
        self.problems.append(Problem(line, path, message))

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        *,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        open_keys: bool = False,
    ) -> dict[str, yaml.Node] | None:
        """A mapping's values by key; reports a non-mapping, duplicate, unknown and missing keys."""
        if not isinstance(node, yaml.MappingNode):
            self.report(node, path, f"expected a mapping, got {describe(node)}")
            return None
        allowed = (*required, *optional)
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self.constant(key_node)
            where = join(path, str(key))
            if not isinstance(key, str):
                self.report(key_node, where, "keys must be strings")
            elif key in values:
                self.report(key_node, where, "duplicate key")
            elif not open_keys and key not in allowed:
                self.report(key_node, where, f"unknown key (expected one of: {', '.join(allowed)})")
            else:
                values[key] = value_node
        for key in required:
            if key not in values:
                self.report(node, join(path, key), "missing")
        return values

    def sequence(self, node: yaml.Node, path: str) -> list[yaml.Node] | None:
        if not isinstance(node, yaml.SequenceNode):
            self.report(node, path, f"expected a list, got {describe(node)}")
            return None
        return list(node.value)

    def string(self, node: yaml.Node, path: str, *, empty: bool = False) -> str | None:
        value = self.constant(node) if isinstance(node, yaml.ScalarNode) else node
        if not isinstance(value, str):
            self.report(node, path, f"expected a string, got {describe(node)}")
            return None
        if not empty and not value.strip():
            self.report(node, path, "must not be empty")
            return None
        return value

    def integer(self, node: yaml.Node, path: str) -> int | None:
        value = self.constant(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, bool) or not isinstance(value, int):
            self.report(node, path, f"expected an integer, got {describe(node)}")
            return None
        return value

    def constant(self, node: yaml.Node) -> Any:
        """Any YAML value as plain Python (mappings, lists, scalars)."""
        return SafeConstructor().construct_object(node, deep=True)


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    value = SafeConstructor().construct_object(node, deep=True)
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def compose(text: str, source: str) -> yaml.Node | None:
    """The YAML document's root node; DefinitionError (with the line) when it is not YAML."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else 0
        reason = error.problem or error.context or "invalid YAML"
        raise DefinitionError(source, [Problem(line, "", f"not valid YAML: {reason}")]) from None
    except yaml.YAMLError as error:
        raise DefinitionError(source, [Problem(0, "", f"not valid YAML: {error}")]) from None
