"""Building Python templates into components with componentize-py, cached by a hash of the sources.

A template folder holds ``golemsim.toml`` (name, version, world, module), a ``wit/`` folder
with the world, and the Python sources. The world may ``include golemsim:host/imports``;
the host WIT and the guest module ``golemsim_guest`` are supplied by the build. Only this
module knows about componentize-py: the executor runs any component.

A folder whose ``[template]`` says ``component = "path.wasm"`` holds a prebuilt component
instead (any language): it is not built, only checked the way a deploy checks it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .engine import Engine, component_hash, default_cache_dir
from .errors import BadRequest, BuildError, InvalidComponent
from .policy import RetryPolicy, SnapshotPolicy
from .progress import long_step
from .templates import MemoryTemplateStore, TemplateRegistry

HOST_WIT = Path(__file__).parent / "wit" / "host.wit"
GUEST_DIR = Path(__file__).parent.parent / "guest"
IGNORED_DIRS = {"__pycache__", "target", "tests", ".pytest_cache"}
IGNORED_SUFFIXES = {".md", ".txt", ".png"}  # documentation does not change the component
COMPONENT_HEADER = b"\0asm\x0d\x00\x01\x00"
"""The first 8 bytes of a WebAssembly component: the magic, then version 0x0d and layer 1."""
MODULE_HEADER = b"\0asm\x01\x00\x00\x00"
"""The first 8 bytes of a core WebAssembly module (not a component)."""


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
    prebuilt: bool = False
    """The folder names a prebuilt component (``component = ...``): ``wasm_path`` is that file."""


@dataclass(frozen=True)
class TemplateManifest:
    """``golemsim.toml``: how a folder becomes a component.

    Either ``world`` and ``module`` (Python sources built by componentize-py) or ``component``
    (a prebuilt component, resolved against the folder)."""

    name: str
    version: int
    world: str | None
    module: str | None
    retry: RetryPolicy | None = None
    snapshot: SnapshotPolicy | None = None
    component: Path | None = None

    @classmethod
    def load(cls, folder: Path) -> TemplateManifest:
        path = folder / "golemsim.toml"
        if not path.is_file():
            raise BuildError(f"{folder} is not a template folder: it has no golemsim.toml")
        try:
            document = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as error:
            raise BuildError(f"{path}: {error}") from None
        if "component" in document:
            raise BuildError(f"{path}: put component = ... under [template], after its name")
        table = document.get("template", {})
        prebuilt = "component" in table
        if prebuilt and ("world" in table or "module" in table):
            raise BuildError(
                f"{path}: [template] has both component (a prebuilt component) and world/module "
                "(sources to build); give one or the other"
            )
        missing = [k for k in (("name",) if prebuilt else ("name", "world", "module")) if k not in table]
        if missing:
            raise BuildError(f"{path}: [template] is missing {', '.join(missing)}")
        retry = RetryPolicy.from_dict(document["retry"], f"{path} [retry]") if "retry" in document else None
        snapshot = None
        if "snapshot" in document:
            snapshot = SnapshotPolicy.from_dict(document["snapshot"], f"{path} [snapshot]")
        name, version = str(table["name"]), int(table.get("version", 1))
        if prebuilt:
            component = table["component"]
            if not isinstance(component, str) or not component:
                raise BuildError(f"{path}: [template] component must be a path to a .wasm file, got {component!r}")
            return cls(name, version, None, None, retry, snapshot, (folder / component).resolve())
        return cls(name, version, str(table["world"]), str(table["module"]), retry, snapshot)


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
    """Build the template in ``folder``; reuse the cached component when the sources are unchanged.

    A folder naming a prebuilt component is not built (``force`` does not matter): the result
    points at that file, once it is checked as a deploy would check it (BuildError if not)."""
    folder = Path(folder).resolve()
    manifest = TemplateManifest.load(folder)
    if manifest.component is not None:
        return _prebuilt(folder, manifest, manifest.component, cache_dir)
    digest = source_hash(folder)
    out_dir = (cache_dir or default_cache_dir()) / "builds"
    out_dir.mkdir(parents=True, exist_ok=True)
    wasm = out_dir / f"{manifest.name}-{digest[:16]}.wasm"
    with open(out_dir / f".{manifest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel builds of one template wait for each other
        if wasm.exists() and not force:
            return BuiltTemplate(manifest.name, manifest.version, wasm, digest, True, manifest.retry, manifest.snapshot)
        with long_step(f"building template {manifest.name} with componentize-py", (10, 25)):
            _run_componentize(folder, manifest, wasm)
    return BuiltTemplate(manifest.name, manifest.version, wasm, digest, False, manifest.retry, manifest.snapshot)


_checked: set[str] = set()
"""Hashes of prebuilt components this process has checked already (the check compiles them)."""


def _prebuilt(folder: Path, manifest: TemplateManifest, wasm: Path, cache_dir: Path | None) -> BuiltTemplate:
    """The prebuilt component of ``folder``, checked: the file exists, is a component, and
    deploys (compiles, exports functions, imports only what golemsim records)."""
    where = f"template folder {folder}: component {wasm}"
    if not wasm.is_file():
        raise BuildError(f"{where} does not exist")
    data = wasm.read_bytes()
    header = data[:8]
    if header == MODULE_HEADER:
        raise BuildError(
            f"{where} is a core WebAssembly module, not a component "
            "(make it one with `wasm-tools component new`, adding a WASI adapter if it needs one)"
        )
    if header != COMPONENT_HEADER:
        raise BuildError(f"{where} is not a WebAssembly component (it does not start with the component header)")
    digest = component_hash(data)
    if digest not in _checked:
        try:  # the very check a deploy makes
            TemplateRegistry(MemoryTemplateStore(), Engine(cache_dir)).deploy(manifest.name, data)
        except (InvalidComponent, BadRequest) as error:
            raise BuildError(f"{where} does not deploy: {error}") from None
        _checked.add(digest)
    return BuiltTemplate(
        manifest.name, manifest.version, wasm, digest, False, manifest.retry, manifest.snapshot, prebuilt=True
    )


def _run_componentize(folder: Path, manifest: TemplateManifest, wasm: Path) -> None:
    assert manifest.world is not None and manifest.module is not None  # a folder of sources
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
