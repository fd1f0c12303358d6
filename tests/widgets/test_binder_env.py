"""Binder's environment, rebuilt cheaply: a fresh virtual env gets exactly ``binder/requirements.txt``
(golemsim from ``.``, not editable), ``binder/postBuild`` builds the templates, and every tutorial
notebook runs in a kernel of that env, from a copy of the repository (repo2docker copies the repository,
installs the requirements from its root, runs postBuild there, and starts the notebooks in it).

Templates are built and compiled into a fresh cache, so the test also shows that postBuild builds every
shipped template the notebooks use (their kernels build none of them), and that notebook 01, run first, compiles
nothing (its kernel finds every component postBuild compiled). The one thing a kernel may build is a
template a notebook writes itself, into its own working folder under notebooks/ (git ignores it):
08-test-your-own-worker does that on purpose, since building your own template is its lesson.
pip's own cache makes a repeated install quick. Takes 4-6 minutes: the install about 45 s,
postBuild's builds and compiles about 1.5 min, the notebooks the rest (08's two builds of its own about 30 s).

The quick tests check what Binder reads: the files, the pins (against pyproject.toml's ranges), and that
binder/templates.txt, the templates postBuild warms, is exactly the set the notebooks use (scanned from their code).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from support import ROOT, copy_repository, tracked_mode

from golemsim.sim.shipped_apps import SHIPPED_APPS

BINDER = ROOT / "binder"
KERNEL = "golemsim-binder-test"
# Run by the fresh env's python: executes each notebook with nbclient in the kernel KERNEL, after a first
# extra cell that reports which interpreter (and which golemsim) the kernel really is.
RUNNER = r"""
import json, sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

PROBE = "import sys, golemsim\nprint(sys.prefix)\nprint(sys.executable)\nprint(golemsim.__file__)"
kernel, report, paths = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
results = []
for path in paths:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        notebook, kernel_name=kernel, timeout=900, resources={"metadata": {"path": str(Path(path).parent)}}
    )
    try:
        client.execute()
        error = None
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
    nbformat.write(notebook, path)
    probe = "".join(o.get("text", "") for o in notebook.cells[0].get("outputs", []) if o.get("name") == "stdout")
    results.append({"notebook": path, "error": error, "probe": probe.splitlines()})
report.write_text(json.dumps(results))
"""


def _run(command: list[str | Path], *, cwd: Path, env: dict[str, str], timeout: float) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )


def _inside(path: str, folder: Path) -> bool:
    return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(folder))


def _template_names(folder: Path) -> set[str]:
    """The names of the templates whose golemsim.toml lies anywhere under ``folder``."""
    return {tomllib.loads(p.read_text())["template"]["name"] for p in folder.rglob("golemsim.toml")}


def _listed_templates(repo: Path) -> list[str]:
    """binder/templates.txt: the template folders postBuild warms."""
    lines = (repo / "binder" / "templates.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _named_in(text: str, repo: Path) -> set[str]:
    """Template folder names a piece of code or YAML uses: path parts ("templates/x", ``templates_dir() / "x"``),
    shipped apps (``app: x``), API definitions (``x.api.yaml``: their templates) and experiment files (theirs)."""
    names = set(re.findall(r"templates/([\w.-]+)", text)) | set(re.findall(r"""/\s*["']([\w.-]+)["']""", text))
    for app in re.findall(r"^[ \t]*app:[ \t]*([\w-]+)[ \t]*$", text, re.MULTILINE):
        names |= set(SHIPPED_APPS[app].templates) if app in SHIPPED_APPS else set()
    for api in set(re.findall(r"([\w-]+\.api\.yaml)", text)):
        if (repo / "templates" / api).is_file():  # a shipped API definition (a notebook may write its own)
            definition = yaml.safe_load((repo / "templates" / api).read_text())
            names |= {Path(folder).name for folder in definition["templates"].values()}
    for experiment in set(re.findall(r"([\w-]+\.yaml)", text)):
        if (repo / "experiments" / experiment).is_file():
            names |= set(re.findall(r"templates/([\w.-]+)", (repo / "experiments" / experiment).read_text()))
    return names


def _templates_the_notebooks_use(repo: Path) -> dict[str, set[str]]:
    """For each shipped template folder (templates/*/golemsim.toml), the notebooks whose code uses it."""
    folders = {p.parent.name for p in (repo / "templates").glob("*/golemsim.toml")}
    used: dict[str, set[str]] = {}
    for path in sorted((repo / "notebooks").glob("[0-9]*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
        for name in _named_in(code, repo) & folders:
            used.setdefault(name, set()).add(path.name)
    return used


def test_postbuild_warms_exactly_the_templates_the_notebooks_use() -> None:
    listed = _listed_templates(ROOT)
    used = _templates_the_notebooks_use(ROOT)
    assert listed == sorted(set(listed)), "binder/templates.txt: one name a line, sorted"
    missing = {name: sorted(notebooks) for name, notebooks in used.items() if name not in listed}
    assert not missing, f"add to binder/templates.txt the templates these notebooks use: {missing}"
    unused = sorted(set(listed) - set(used))
    assert not unused, f"no notebook uses {unused}: take them out of binder/templates.txt"


def test_binder_requirements_are_pinned_within_pyproject_ranges() -> None:
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    requirements = [Requirement(line) for line in lines if line and not line.startswith("#") and line != "."]
    pins = {canonicalize_name(r.name): str(r.specifier) for r in requirements}
    loose = sorted(name for name, specifier in pins.items() if not re.fullmatch(r"==[\w.]+", specifier))
    assert not loose, f"binder/requirements.txt: pin these exactly (name==version): {loose}"
    assert len(pins) == len(requirements), "binder/requirements.txt names a package twice"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    # What Binder needs: golemsim's dependencies, and the extras the notebooks use (widgets, notebooks, campaign).
    needed = [Requirement(r) for r in [*project["dependencies"], *extras["widgets"], *extras["campaign"]]]
    needed += [Requirement(r) for r in extras["notebooks"] if not r.startswith("golemsim")]
    for requirement in needed:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"binder/requirements.txt does not pin {requirement.name} (pyproject.toml needs it)"
        pinned = pins[name].removeprefix("==")
        assert requirement.specifier.contains(pinned, prereleases=True), (
            f"binder/requirements.txt pins {name}=={pinned}, outside pyproject.toml's {requirement}"
        )


def _compiled(cache: Path) -> dict[str, int]:
    """The cache's compiled components, each with its modification time (a compile writes one afresh)."""
    return {p.name: p.stat().st_mtime_ns for p in (cache / "compiled").rglob("*.cwasm")}


def test_binder_files_are_what_repo2docker_reads() -> None:
    requirements = (BINDER / "requirements.txt").read_text().split()
    assert requirements[-1] == ".", "golemsim itself is installed only through a last line '.'"
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = BINDER / "postBuild"
    lines = post_build.read_text().splitlines()
    assert lines[0] == "#!/bin/bash" and any(line.startswith("set -e") for line in lines)
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    mode = tracked_mode("binder/postBuild")
    assert mode in (None, "100755"), f"git records binder/postBuild as {mode}: git add --chmod=+x binder/postBuild"


@pytest.mark.slow
def test_a_fresh_binder_env_runs_every_notebook(tmp_path: Path) -> None:
    repo = copy_repository(tmp_path / "repo")
    notebooks = sorted((repo / "notebooks").glob("[0-9]*.ipynb"))
    if not notebooks:
        pytest.skip("no notebooks/[0-9]*.ipynb yet")
    in_a_clone = _template_names(repo / "notebooks")
    assert not in_a_clone, f"a clone holds templates under notebooks/: {sorted(in_a_clone)}"
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "GOLEMSIM_TEMPLATES")}
    env |= {
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "GOLEMSIM_CACHE_DIR": str(tmp_path / "cache"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
    }

    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=120)
    lines = (repo / "binder" / "requirements.txt").read_text().splitlines()
    required = {re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0].lower() for line in lines}
    runner_needs = [name for name in ("nbclient", "nbformat", "ipykernel") if name not in required]
    # --no-compile: a third less time; the kernels compile what they import.
    install = [python, "-m", "pip", "install", "--quiet", "--no-compile", "-r", "binder/requirements.txt"]
    install += runner_needs
    _run(install, cwd=repo, env=env, timeout=1500)
    _run([repo / "binder" / "postBuild"], cwd=repo, env=env, timeout=900)
    cache = tmp_path / "cache"
    built = sorted(p.name for p in (cache / "builds").glob("*.wasm"))
    listed = _listed_templates(repo)
    assert sorted(name.rsplit("-", 1)[0] for name in built) == sorted(
        tomllib.loads((repo / "templates" / name / "golemsim.toml").read_text())["template"]["name"] for name in listed
    ), f"postBuild built {built} for binder/templates.txt's {listed}"
    warm = _compiled(cache)
    assert len(warm) == len(listed), f"postBuild compiled {len(warm)} components for {len(listed)} templates"

    _run([python, "-m", "ipykernel", "install", "--prefix", venv, "--name", KERNEL], cwd=repo, env=env, timeout=120)
    runner, report = tmp_path / "run_notebooks.py", tmp_path / "report.json"
    runner.write_text(RUNNER)
    # Notebook 01 first, alone: Binder's first impression. Its kernel must find everything compiled already.
    first, rest = notebooks[0], notebooks[1:]
    assert first.name.startswith("01-")
    _run([python, runner, KERNEL, report, first], cwd=repo / "notebooks", env=env, timeout=900)
    results = json.loads(report.read_text())
    compiled_by_01 = sorted(set(_compiled(cache).items()) - set(warm.items()))
    assert not compiled_by_01, f"{first.name} compiled components postBuild should have: {compiled_by_01}"
    _run([python, runner, KERNEL, report, *rest], cwd=repo / "notebooks", env=env, timeout=3600)
    results += json.loads(report.read_text())

    assert [r["notebook"] for r in results] == [str(p) for p in notebooks]
    for result in results:
        name = Path(result["notebook"]).name
        assert result["error"] is None, f"{name} failed in the Binder env:\n{result['error'][-4000:]}"
        prefix, executable, package = result["probe"]
        assert Path(prefix).resolve() == venv.resolve(), f"{name} ran in {prefix}, not in the fresh env"
        assert _inside(executable, venv), f"{name}'s kernel is {executable}, not the fresh env's python"
        assert _inside(package, venv), f"{name} imported golemsim from {package}, not from the fresh env"
    # Builds are named <template>-<source hash>.wasm. Besides postBuild's, only templates the notebooks wrote
    # themselves (now under the copy's notebooks/, where a clone has none) may have been built, and none of them
    # may be named like a shipped template, whose build must come from postBuild.
    own = _template_names(repo / "notebooks")
    shipped = _template_names(repo / "templates")
    assert not own & shipped, f"a notebook writes a template named like a shipped one: {sorted(own & shipped)}"
    rebuilt = sorted(p.name for p in (tmp_path / "cache" / "builds").glob("*.wasm"))
    assert set(built) <= set(rebuilt)
    not_own = sorted(name for name in set(rebuilt) - set(built) if name.rsplit("-", 1)[0] not in own)
    assert not not_own, f"the notebooks built templates postBuild had not: {not_own}"
