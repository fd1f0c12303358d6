"""A copy of the repository as a clone would hold it, for tests that run the notebooks elsewhere.

The copy has the files git tracks plus the untracked ones it does not ignore (what the next commit
would hold), so a notebook's relative paths (``../experiments/...``) and golemsim's search for
``templates/`` (walking up from the working directory) behave as in a clone, while the repository's
own notebooks, and their committed outputs, stay untouched.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .paths import ROOT


def repository_files() -> list[str]:
    """Paths (relative to the root) of the files a clone of the current work tree would hold."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    names = sorted({name for name in listed.stdout.decode().split("\0") if name})
    return [name for name in names if (ROOT / name).is_file()]  # not files deleted in the work tree


def copy_repository(dest: Path) -> Path:
    """Copy the repository's files into ``dest`` (modes kept: binder/postBuild stays executable)."""
    for name in repository_files():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return dest


def tracked_mode(name: str) -> str | None:
    """The file mode git records for ``name`` (``100755`` for an executable), or None if untracked."""
    staged = subprocess.run(["git", "ls-files", "-s", "--", name], cwd=ROOT, capture_output=True, text=True)
    fields = staged.stdout.split()
    return fields[0] if fields else None
