"""Building Python templates into components with componentize-py, cached by a hash of the sources.

A template folder holds ``golemsim.toml`` (name, version, world, module), a ``wit/`` folder
with the world, and the Python sources. The world may ``include golemsim:host/imports``;
the host WIT and the guest module ``golemsim_guest`` are supplied by the build. Only this
module knows about componentize-py: the executor runs any component.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .engine import default_cache_dir
from .errors import BuildError
from .policy import RetryPolicy, SnapshotPolicy

progress = logging.getLogger("golemsim.progress")

HOST_WIT = Path(__file__).parent / "wit" / "host.wit"
GUEST_DIR = Path(__file__).parent.parent / "guest"
IGNORED_DIRS = {"__pycache__", "target", "tests", ".pytest_cache"}
IGNORED_SUFFIXES = {".md", ".txt", ".png"}  # documentation does not change the component


@dataclass(frozen=True)
class BuiltTemplate:
    """The result of a build."""

    name: str
    version: int
    wasm_path: Path
    source_hash: str
    cached: bool
    retry: RetryPolicy | None = None
    snapshot: SnapshotPolicy | None = None


@dataclass(frozen=True)
class TemplateManifest:
    """``golemsim.toml``: how a folder becomes a component."""

    name: str
    version: int
    world: str
    module: str
    retry: RetryPolicy | None = None
    snapshot: SnapshotPolicy | None = None

    @classmethod
    def load(cls, folder: Path) -> TemplateManifest:
        path = folder / "golemsim.toml"
        if not path.is_file():
            raise BuildError(f"{folder} is not a template folder: it has no golemsim.toml")
        try:
            document = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise BuildError(f"{path}: {error}") from None
        table = document.get("template", {})
        missing = [k for k in ("name", "world", "module") if k not in table]
        if missing:
            raise BuildError(f"{path}: [template] is missing {', '.join(missing)}")
        retry = RetryPolicy.from_dict(document["retry"], f"{path} [retry]") if "retry" in document else None
        snapshot = None
        if "snapshot" in document:
            snapshot = SnapshotPolicy.from_dict(document["snapshot"], f"{path} [snapshot]")
        name, world, module = str(table["name"]), str(table["world"]), str(table["module"])
        return cls(name, int(table.get("version", 1)), world, module, retry, snapshot)


def _source_files(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        if (
            path.is_file()
            and path.suffix not in IGNORED_SUFFIXES
            and not IGNORED_DIRS.intersection(path.relative_to(folder).parts)
        ):
            files.append(path)
    return files


def _componentize_py() -> str:
    local = Path(sys.executable).parent / "componentize-py"
    found = str(local) if local.exists() else shutil.which("componentize-py")
    if found is None:
        raise BuildError("componentize-py is not installed (pip install componentize-py)")
    return found


def source_hash(folder: Path) -> str:
    """Hash of everything that goes into the component: sources, host WIT, guest module, toolchain."""
    digest = hashlib.sha256()
    try:
        digest.update(f"componentize-py {version('componentize-py')}\n".encode())
    except PackageNotFoundError:
        digest.update(b"componentize-py unknown\n")
    for path in [*_source_files(folder), HOST_WIT, *_source_files(GUEST_DIR)]:
        digest.update(str(path.name).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def build_template(folder: str | Path, *, cache_dir: Path | None = None, force: bool = False) -> BuiltTemplate:
    """Build the template in ``folder``; reuse the cached component when the sources are unchanged."""
    folder = Path(folder).resolve()
    manifest = TemplateManifest.load(folder)
    digest = source_hash(folder)
    out_dir = (cache_dir or default_cache_dir()) / "builds"
    out_dir.mkdir(parents=True, exist_ok=True)
    wasm = out_dir / f"{manifest.name}-{digest[:16]}.wasm"
    with open(out_dir / f".{manifest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel builds of one template wait for each other
        if wasm.exists() and not force:
            return BuiltTemplate(manifest.name, manifest.version, wasm, digest, True, manifest.retry, manifest.snapshot)
        progress.info("building template %s with componentize-py (10-25 s; cached afterwards) ...", manifest.name)
        _run_componentize(folder, manifest, wasm)
    return BuiltTemplate(manifest.name, manifest.version, wasm, digest, False, manifest.retry, manifest.snapshot)


def _run_componentize(folder: Path, manifest: TemplateManifest, wasm: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="golemsim-build-") as tmp:
        wit = Path(tmp) / "wit"
        shutil.copytree(folder / "wit", wit)
        deps = wit / "deps" / "golemsim-host"
        deps.mkdir(parents=True, exist_ok=True)
        shutil.copy(HOST_WIT, deps / "host.wit")
        partial = Path(tmp) / "out.wasm"
        command = [
            _componentize_py(),
            "-d",
            str(wit),
            "-w",
            manifest.world,
            "componentize",
            "-p",
            str(folder),
            "-p",
            str(GUEST_DIR),
            manifest.module,
            "-o",
            str(partial),
        ]
        env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # keep host site-packages out
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp)
        if done.returncode != 0:
            output = (done.stderr or done.stdout).strip()
            raise BuildError(f"building template {manifest.name} from {folder} failed:\n{_explain(output)}")
        os.replace(partial, wasm)


LIBC_CLASH_HINT = (
    "hint: a world-level export named like a C library function (close, write, read, open, exit, ...) "
    "clashes with wasi-libc when componentize-py links the component; rename the export (e.g. close-auction)"
)


def _explain(output: str) -> str:
    """componentize-py's output, with a hint for the failures whose panic does not say what to do."""
    if "duplicate items detected" in output:
        last = output.splitlines()[-1] if output else ""
        return f"{LIBC_CLASH_HINT}\n(componentize-py said: {last.strip()})"
    return output
