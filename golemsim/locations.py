"""Where the project's templates folder is: next to the package in a source checkout, found from the
working directory when golemsim is installed (``pip install .``, as on Binder), or else the copy that
ships inside the package (golemsim/examples/, from a wheel, see setup.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from .core.errors import BadRequest, GolemError

MARKER = Path("counter") / "golemsim.toml"
PACKAGED = Path(__file__).resolve().parent / "examples"
"""The shipped templates/ and experiments/ inside an installed package (absent in a checkout)."""
CHECKOUT = Path(__file__).resolve().parents[1]
"""The repository's root when the package runs from a checkout."""
EXAMPLE_FOLDERS = ("templates", "experiments")
LEFT_OUT = {"templates/counter-c", "experiments/counter-c-crash.yaml", "experiments/counter_workload.py"}
"""Not shipped: the C counter needs a C toolchain to build (its build.sh), so it and its experiment stay in the
repository (pyproject.toml's package-data says the same for the wheel)."""


def templates_dir() -> Path:
    """The templates folder: $GOLEMSIM_TEMPLATES, else ``templates/`` beside the package, else
    the nearest ``templates/`` in the working directory or one of its parents, else the copy
    shipped inside the package."""
    configured = os.environ.get("GOLEMSIM_TEMPLATES")
    if configured:
        return Path(configured).resolve()
    beside_package = CHECKOUT / "templates"
    if (beside_package / MARKER).is_file():
        return beside_package
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "templates" / MARKER).is_file():
            return folder / "templates"
    if (PACKAGED / "templates" / MARKER).is_file():
        return PACKAGED / "templates"
    raise GolemError(
        "cannot find golemsim's templates folder: run from a checkout of the repository "
        "(or a folder inside it), or set GOLEMSIM_TEMPLATES to its templates/ folder"
    )


def examples_root() -> Path:
    """The folder holding the shipped templates/ and experiments/: the checkout's root, else the package's copy."""
    for root in (CHECKOUT, PACKAGED):
        if (root / "templates" / MARKER).is_file() and (root / "experiments").is_dir():
            return root
    raise GolemError("this golemsim has no shipped examples (neither a checkout nor golemsim/examples/ in the package)")


def _ignored(root: Path) -> Callable[[str, list[str]], set[str]]:
    """shutil.copytree's ignore: build outputs, caches and what is LEFT_OUT."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        where = Path(folder).relative_to(root)
        return {
            name
            for name in names
            if name in ("__pycache__", "build", ".gitignore")
            or name.endswith(".pyc")
            or (where / name).as_posix() in LEFT_OUT
        }

    return ignore


def copy_examples(destination: Path, *, force: bool = False) -> list[Path]:
    """Copy the shipped templates (sources), API definitions and experiments into ``destination``/templates and
    ``destination``/experiments, so they can be run and edited there (the experiments name ../templates/...).
    A folder that exists and is not empty is refused (BadRequest) unless ``force``, which writes over its files.
    Returns the folders written."""
    if destination.exists() and not destination.is_dir():
        raise BadRequest(f"{destination} exists and is not a folder")
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise BadRequest(f"{destination} is not empty (--force writes over its files)")
    root = examples_root()
    written = []
    for name in EXAMPLE_FOLDERS:
        shutil.copytree(root / name, destination / name, ignore=_ignored(root), dirs_exist_ok=True)
        written.append(destination / name)
    return written
