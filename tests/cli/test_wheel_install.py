"""golemsim as a user gets it: a wheel, built from the repository's files (what the next commit would hold) and
installed into a fresh virtual env, runs a user's own folder (template, API file, workload, invariants and
experiment, outside the repository) with ``golemsim sim run``, needing none of the repository's folders.

The env's dependencies come the ordinary way (the package index, through pip's cache); nothing is installed from
the repository's tree. The user's template is built afresh (its own build cache), so componentize-py, the host
WIT and the guest module must all come with the install. Takes about 30 s: the wheel and the env 10 s, the
template's build and compilation 15-20 s.

The same install (built once for the module) runs the shipped examples with no checkout around: copied out by
``golemsim examples X`` and run from there, and a shipped app named in a file of the user's (``app: checkout``),
whose templates come from the copy inside the package (golemsim/examples/). Another 30 s or so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import ROOT, copy_repository
from support.user_app import make_app

from golemsim.locations import copy_examples


def _run(command: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def _listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _clean_env(venv: Path, cache: Path) -> dict[str, str]:
    """The environment with nothing leading back to the repository: no PYTHONPATH, no GOLEMSIM_* settings
    (GOLEMSIM_TEMPLATES would name its templates), no PATH entry inside it (its .venv/bin), and a build cache
    of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("GOLEMSIM_")
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not Path(p).resolve().is_relative_to(ROOT)]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    env["GOLEMSIM_CACHE_DIR"] = str(cache)
    return env


@dataclass(frozen=True)
class Installed:
    venv: Path
    env: dict[str, str]
    home: Path
    """A folder outside the repository for the tests' own folders."""

    @property
    def golemsim(self) -> Path:
        return self.venv / "bin" / "golemsim"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """golemsim installed from a wheel of the repository's files into a fresh env (shared by this module's tests)."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    assert not tmp_path.resolve().is_relative_to(ROOT), "the user's folder must be outside the repository"
    venv = tmp_path / "venv"
    env = _clean_env(venv, tmp_path / "cache")

    # Built from a copy, so that the work tree gets no build/ folder and a stale build/lib cannot leak into the wheel.
    source = copy_repository(tmp_path / "source")
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, source],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    (wheel,) = wheels.glob("golemsim-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    shipped = [n for n in names if n.startswith("golemsim/examples/")]
    assert "golemsim/examples/templates/checkout/app.py" in shipped
    assert "golemsim/examples/experiments/checkout-crash.yaml" in shipped
    assert not [n for n in shipped if "__pycache__" in n or "/build/" in n or "counter-c" in n], shipped
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the wheel has no LICENSE"

    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=120)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "--no-compile", wheel], cwd=tmp_path, env=env, timeout=900)
    where = _run([python, "-c", "import golemsim; print(golemsim.__file__)"], cwd=tmp_path, env=env, timeout=60)
    assert Path(where.strip()).is_relative_to(venv), f"golemsim imported from {where.strip()}, not from the env"
    return Installed(venv, env, tmp_path)


@pytest.mark.slow
def test_a_users_folder_runs_with_golemsim_installed_from_a_wheel(installed: Installed) -> None:
    tmp_path, env = installed.home, installed.env
    mine = tmp_path / "mine"
    make_app(mine)
    stdout = _run([installed.golemsim, "sim", "run", "experiment.yaml", "--out", "out"], cwd=mine, env=env, timeout=600)
    verdicts = {v["checker"]: v for v in json.loads((mine / "out" / "verdicts.json").read_text())}
    assert verdicts["money-is-conserved"]["valid"] and verdicts["money-is-conserved"]["checked"] == 4
    assert all(v["valid"] for v in verdicts.values()), stdout
    assert "workload.py:Transfers" in stdout
    # The env has no matplotlib (the plots extra): the last line names what is there, and no plots/ folder.
    listed = stdout.rsplit("results in out/ (", 1)[1].split(")", 1)[0].split(", ")
    assert sorted(listed) == sorted(p.name + "/" * p.is_dir() for p in (mine / "out").iterdir())
    assert listed[0] == "report.md" and "plots/" not in listed
    assert list((tmp_path / "cache" / "builds").glob("bank-*.wasm")), "the template was not built in the env's cache"


@pytest.mark.slow
def test_the_shipped_examples_run_from_a_copy_and_by_name_with_golemsim_installed_from_a_wheel(
    installed: Installed,
) -> None:
    tmp_path, env = installed.home, installed.env
    version = _run([installed.golemsim, "--version"], cwd=tmp_path, env=env, timeout=60)
    assert version.startswith("golemsim ") and version.split()[1][0].isdigit()
    assert json.loads(_run([installed.golemsim, "schema", "experiment"], cwd=tmp_path, env=env, timeout=60))

    # Copied where the user can edit them: the experiments name ../templates/... beside them.
    _run([installed.golemsim, "examples", "x"], cwd=tmp_path, env=env, timeout=60)
    from_checkout = tmp_path / "from-checkout"
    copy_examples(from_checkout)  # the same files as from the repository (setup.py's package data = LEFT_OUT)
    assert _listing(tmp_path / "x") == _listing(from_checkout)
    stdout = _run(
        [installed.golemsim, "sim", "run", "x/experiments/checkout-crash.yaml", "--out", "out-copy"],
        cwd=tmp_path,
        env=env,
        timeout=600,
    )
    verdicts = json.loads((tmp_path / "out-copy" / "verdicts.json").read_text())  # exit 0: every checker valid
    assert {v["checker"] for v in verdicts} and all(v["valid"] for v in verdicts), stdout

    # A shipped app by name, with no checkout around: its templates come from inside the package.
    where = _run(
        [
            installed.venv / "bin" / "python",
            "-c",
            "from golemsim.locations import templates_dir; print(templates_dir())",
        ],
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert Path(where.strip()).is_relative_to(installed.venv), where
    short = tmp_path / "short"
    short.mkdir()
    (short / "experiment.yaml").write_text(
        "name: checkout by name\napp: checkout\nseed: 2\ncluster: {nodes: 2, shards: 4}\n"
        "workload: {mode: closed, clients: 2, operations: 20, keys: 5}\n"
        "faults:\n  - {at: 0.5, kind: crash, target: node-1, duration: 1}\n"
    )
    stdout = _run(
        [installed.golemsim, "sim", "run", "experiment.yaml", "--out", "out"], cwd=short, env=env, timeout=600
    )
    verdicts = json.loads((short / "out" / "verdicts.json").read_text())
    assert all(v["valid"] for v in verdicts), stdout
