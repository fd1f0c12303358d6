"""Path templates (``/carts/{cart}/items/{sku}``) and name patterns (``user-{user-id}``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

VARIABLE = re.compile(r"\{([^{}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


class TemplateSyntaxError(ValueError):
    """A path template or name pattern is malformed; the message says how."""


@dataclass(frozen=True)
class PathTemplate:
    """A route's path: literal segments and ``{variable}`` segments, one variable per segment."""

    text: str
    segments: tuple[str | None, ...]
    """Each segment's literal text, or None where the segment is a variable."""
    variables: tuple[str, ...]
    """The variable names, in segment order."""

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        if not text.startswith("/"):
            raise TemplateSyntaxError(f"{text!r} must start with '/'")
        if "?" in text or "#" in text:
            raise TemplateSyntaxError(f"{text!r}: a route path has no query or fragment; bind query parameters in args")
        parts = [] if text == "/" else text[1:].removesuffix("/").split("/")
        segments: list[str | None] = []
        variables: list[str] = []
        for part in parts:
            if not part:
                raise TemplateSyntaxError(f"{text!r} has an empty segment ('//')")
            names = VARIABLE.findall(part)
            if not names:
                if "{" in part or "}" in part:
                    raise TemplateSyntaxError(f"{text!r}: unbalanced brace in segment {part!r}")
                segments.append(part)
                continue
            if len(names) > 1 or VARIABLE.fullmatch(part) is None:
                raise TemplateSyntaxError(
                    f"{text!r}: a variable must be a whole segment, like /items/{{sku}}, not {part!r}"
                )
            name = names[0]
            if NAME.match(name) is None:
                raise TemplateSyntaxError(f"{text!r}: {{{name}}} is not a valid variable name")
            if name in variables:
                raise TemplateSyntaxError(f"{text!r}: variable {{{name}}} appears twice")
            variables.append(name)
            segments.append(None)
        return cls(text, tuple(segments), tuple(variables))

    @property
    def shape(self) -> tuple[str | None, ...]:
        """Two paths with the same shape match the same requests (variable names aside)."""
        return self.segments

    @property
    def specificity(self) -> tuple[int, ...]:
        """Sort key: literal segments before variables, so /carts/merge wins over /carts/{id}."""
        return tuple(1 if s is None else 0 for s in self.segments)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """The variables' values if the (already split and decoded) request path matches, else None."""
        if len(segments) != len(self.segments):
            return None
        values: dict[str, str] = {}
        names = iter(self.variables)
        for mine, theirs in zip(self.segments, segments, strict=True):
            if mine is None:
                if not theirs:
                    return None
                values[next(names)] = theirs
            elif mine != theirs:
                return None
        return values


def split_path(path: str) -> list[str]:
    """A request path's segments, percent-decoded one by one (so %2F stays inside its segment)."""
    trimmed = path.split("?", 1)[0]
    if trimmed in ("", "/"):
        return []
    return [unquote(part) for part in trimmed[1:].removesuffix("/").split("/")]


@dataclass(frozen=True)
class NamePattern:
    """A text with ``{variable}`` placeholders, such as a worker name ``user-{user-id}``."""

    text: str
    variables: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> NamePattern:
        stripped = VARIABLE.sub("", text)
        if "{" in stripped or "}" in stripped:
            raise TemplateSyntaxError(f"{text!r}: unbalanced brace")
        names = VARIABLE.findall(text)
        for name in names:
            if NAME.match(name) is None:
                raise TemplateSyntaxError(f"{text!r}: {{{name}}} is not a valid variable name")
        return cls(text, tuple(dict.fromkeys(names)))

    def fill(self, values: dict[str, str]) -> str:
        return VARIABLE.sub(lambda m: values[m.group(1)], self.text)
