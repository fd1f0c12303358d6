"""`golemsim wit DIR`: the host WIT package for components built by other toolchains.

Run as a real subprocess. The written folder is then resolved by two real WIT toolchains:
componentize-py (in the venv) and the jco pinned in tools/wasm-toolchain, the way
tests/templates/c-clock/build.sh makes C components (`jco embed --wit` + `jco new`); the jco
check skips without node or that jco, and fails under CI (CI=true).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from golemsim import Executor
from golemsim.core.host_wit import HOST_WIT, HOST_WIT_IN_COMPONENT, write_host_wit

TOOLCHAIN = ROOT / "tools" / "wasm-toolchain"
JCO = TOOLCHAIN / "node_modules" / "@bytecodealliance" / "jco" / "dist" / "jco.js"
WORLD = """\
package example:any-language;

world greeter {
    include golemsim:host/imports@0.1.0;
    export greet: func(name: string) -> string;
}
"""


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=120)


def test_wit_writes_the_host_package_into_wit_deps_idempotently(tmp_path: Path) -> None:
    written = tmp_path / "wit" / "deps" / "golemsim-host" / "host.wit"
    first = golemsim("wit", str(tmp_path))
    assert first.returncode == 0, first.stderr
    assert written.read_text() == HOST_WIT.read_text()
    assert "package golemsim:host@0.1.0;" in written.read_text()
    assert first.stdout.startswith(f"wrote {written} (golemsim:host@0.1.0)\n")

    again = golemsim("wit", str(tmp_path))
    assert (again.returncode, again.stdout) == (0, f"{written} is up to date (golemsim:host@0.1.0)\n")

    written.write_text("// an older copy\n")
    refreshed = golemsim("wit", str(tmp_path))
    assert refreshed.returncode == 0 and refreshed.stdout.startswith("wrote ")
    assert written.read_text() == HOST_WIT.read_text()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "wit",
        "wit/deps",
        "wit/deps/golemsim-host",
        "wit/deps/golemsim-host/host.wit",
    ]


def test_wit_print_writes_the_package_to_stdout_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "golemsim", "wit", "--print"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert (done.returncode, done.stdout) == (0, HOST_WIT.read_text())
    assert list(tmp_path.iterdir()) == []


def test_wit_refuses_a_missing_folder_or_a_file_in_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "component.wasm"
    a_file.write_bytes(b"")
    for target, message in ((tmp_path / "missing", "does not exist"), (a_file, "is not a folder")):
        done = golemsim("wit", str(target))
        assert done.returncode == 2, done
        assert done.stderr == f"error: {target} {message}: give the component's folder (the one with wit/)\n"
        assert done.stdout == ""
    assert not (tmp_path / "missing").exists()


def test_componentize_py_resolves_a_world_that_includes_the_written_package(tmp_path: Path) -> None:
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "greeter.wit").write_text(WORLD)
    assert write_host_wit(tmp_path).path == tmp_path / HOST_WIT_IN_COMPONENT
    local = Path(sys.executable).parent / "componentize-py"
    tool = str(local) if local.exists() else shutil.which("componentize-py")
    assert tool is not None, "componentize-py is a dependency of golemsim"
    done = subprocess.run(
        [tool, "-d", str(tmp_path / "wit"), "-w", "greeter", "bindings", str(tmp_path / "bindings")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "bindings" / "wit_world").is_dir()


def test_a_component_made_by_jco_from_the_written_wit_deploys(tmp_path: Path) -> None:
    """The C route of c-clock/build.sh (`jco embed --wit`, `jco new`) finds golemsim:host in
    wit/deps/golemsim-host, and golemsim deploys the result: its only import is the host interface.
    (A dummy core module: no C compiler needed; the WIT resolution is the same.)"""
    if shutil.which("node") is None or not JCO.is_file():
        reason = "needs node and the jco of tools/wasm-toolchain (npm ci there; .ci/setup.sh does it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must have them")
        pytest.skip(reason)
    (tmp_path / "wit").mkdir()
    (tmp_path / "wit" / "greeter.wit").write_text(WORLD)
    write_host_wit(tmp_path)

    def jco(*args: str) -> None:
        command = ["node", "--import", str(TOOLCHAIN / "preopens.mjs"), str(JCO), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr

    jco("embed", "--dummy", "--wit", str(tmp_path / "wit"), "-o", str(tmp_path / "embedded.wasm"))
    jco("new", "-o", str(tmp_path / "component.wasm"), str(tmp_path / "embedded.wasm"))
    with Executor.open(tmp_path / "golem.db") as ex:
        info = ex.deploy(tmp_path / "component.wasm", name="greeter")
    assert info.functions == ["greet(name: string) -> string"]
