"""Binder's environment, rebuilt cheaply: a fresh virtual env gets exactly ``binder/requirements.txt``
(golemsim from ``.``, not editable), ``binder/postBuild`` builds the templates, and every tutorial
notebook runs in a kernel of that env, from a copy of the repository (repo2docker copies the repository,
installs the requirements from its root, runs postBuild there, and starts the notebooks in it).

Templates are built into a fresh cache, so the test also shows that postBuild builds every shipped
template the notebooks use (their kernels build none of them). The one thing a kernel may build is a
template a notebook writes itself, into its own working folder under notebooks/ (git ignores it):
08-test-your-own-worker does that on purpose, since building your own template is its lesson.
pip's own cache makes a repeated install quick. Takes 3-5 minutes: the install about 45 s,
postBuild's builds about 50 s, the notebooks the rest (08's two builds of its own about 30 s).
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
from support import ROOT, copy_repository, tracked_mode

from golemsim.core.engine import default_cache_dir

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

    # Templates are built afresh (postBuild's job), but compiled code, which is not, is shared: it is keyed by
    # the component's hash and the wasmtime version, and compiling every component again would cost a minute.
    shared_compiled = default_cache_dir() / "compiled"
    shared_compiled.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "compiled").symlink_to(shared_compiled, target_is_directory=True)

    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env, timeout=120)
    lines = (repo / "binder" / "requirements.txt").read_text().splitlines()
    required = {re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0].lower() for line in lines}
    runner_needs = [name for name in ("nbclient", "nbformat", "ipykernel") if name not in required]
    # --no-compile: a third less time; the kernels compile what they import.
    install = [python, "-m", "pip", "install", "--quiet", "--no-compile", "-r", "binder/requirements.txt"]
    install += runner_needs
    _run(install, cwd=repo, env=env, timeout=1500)
    _run([repo / "binder" / "postBuild"], cwd=repo, env=env, timeout=900)
    built = sorted(p.name for p in (tmp_path / "cache" / "builds").glob("*.wasm"))
    templates = [
        p.parent.name
        for p in (repo / "templates").glob("*/golemsim.toml")
        if not (p.parent / "build.sh").exists()  # built by its own toolchain (C), not on Binder
    ]
    assert len(built) == len(templates) > 0, f"postBuild built {built} for the templates {templates}"

    _run([python, "-m", "ipykernel", "install", "--prefix", venv, "--name", KERNEL], cwd=repo, env=env, timeout=120)
    runner, report = tmp_path / "run_notebooks.py", tmp_path / "report.json"
    runner.write_text(RUNNER)
    _run([python, runner, KERNEL, report, *notebooks], cwd=repo / "notebooks", env=env, timeout=3600)

    results = json.loads(report.read_text())
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
