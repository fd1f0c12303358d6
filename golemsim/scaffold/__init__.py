"""``golemsim new NAME``: a folder of the user's own that runs under faults as it is.

The folder holds a template (wallets that pay each other with worker-to-worker calls), its API
definition, a workload, an invariant, an experiment file naming them all by relative paths, and
a README::

    NAME/
      TEMPLATE/app.py, TEMPLATE/wit/TEMPLATE.wit, TEMPLATE/golemsim.toml
      TEMPLATE.api.yaml
      workload.py, invariants.py, experiment.yaml, README.md

The file texts are package data (``files/``, each ending in ``.in``): a path's ``TEMPLATE`` and
a text's ``{{name}}`` become the template name, a text's ``{{folder}}`` the folder's name.
"""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from ..core.errors import BadRequest

TEMPLATE_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*")
"""A WIT identifier in kebab case (the template's world has its name), also fine in a path, a URL and YAML."""

WIT_KEYWORDS = frozenset(
    "as async bool borrow char constructor enum error-context export f32 f64 flags float32 float64 from func "
    "future import include interface list option own package record resource result s16 s32 s64 s8 static "
    "stream string tuple type u16 u32 u64 u8 use variant with world".split()
)
"""Words the WIT parser keeps for itself: a world cannot be called that."""

MAX_NAME = 40


def template_name(name: str) -> str:
    """The template name for a folder called ``name``: lower case, ``_`` as ``-``.

    Raises BadRequest saying what a name may be."""
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise BadRequest(f"invalid name {name!r}: give a folder name, not a path (use --dir for where it goes)")
    template = name.lower().replace("_", "-")
    if len(template) > MAX_NAME or not TEMPLATE_NAME.fullmatch(template):
        raise BadRequest(
            f"invalid name {name!r}: use letters, digits and single '-' or '_' between words, each word starting "
            f"with a letter, at most {MAX_NAME} characters (for example my-wallet); it names the template and its "
            "WIT world"
        )
    if template in WIT_KEYWORDS:
        raise BadRequest(f"invalid name {name!r}: {template!r} is a WIT keyword and cannot name a world")
    return template


def write_scaffold(name: str, parent: Path, *, force: bool = False) -> Path:
    """Write the folder ``parent/name`` (``parent`` is made if missing) and return it.

    Raises BadRequest for a bad name, or for a folder that exists and is not empty (unless
    ``force``: then the scaffold's files are written over, and other files are left alone)."""
    template = template_name(name)
    folder = parent / name
    if folder.exists() and not folder.is_dir():
        raise BadRequest(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise BadRequest(f"{folder} exists and is not empty (--force writes the scaffold's files over it)")
    for relative, source in _sources(files(__name__) / "files", ()):
        target = folder.joinpath(*(part.replace("TEMPLATE", template) for part in relative))
        text = source.read_text(encoding="utf-8").replace("{{name}}", template).replace("{{folder}}", name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def _sources(folder: Traversable, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], Traversable]]:
    """The ``.in`` files under ``folder`` (recursively, in name order), each with its target path."""
    found: list[tuple[tuple[str, ...], Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found.extend(_sources(entry, (*prefix, entry.name)))
        elif entry.name.endswith(".in"):
            found.append(((*prefix, entry.name.removesuffix(".in")), entry))
    return found
