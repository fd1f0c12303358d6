"""Where the project's templates folder is: next to the package in a source checkout, or found
from the working directory when golemsim is installed (``pip install .``, as on Binder)."""

from __future__ import annotations

import os
from pathlib import Path

from .core.errors import GolemError

MARKER = Path("counter") / "golemsim.toml"


def templates_dir() -> Path:
    """The templates folder: $GOLEMSIM_TEMPLATES, else ``templates/`` beside the package, else
    the nearest ``templates/`` in the working directory or one of its parents."""
    configured = os.environ.get("GOLEMSIM_TEMPLATES")
    if configured:
        return Path(configured).resolve()
    beside_package = Path(__file__).resolve().parents[1] / "templates"
    if (beside_package / MARKER).is_file():
        return beside_package
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "templates" / MARKER).is_file():
            return folder / "templates"
    raise GolemError(
        "cannot find golemsim's templates folder: run from a checkout of the repository "
        "(or a folder inside it), or set GOLEMSIM_TEMPLATES to its templates/ folder"
    )
