"""`golemsim examples DIR` and `golemsim --version`: the shipped templates (sources), API definitions and
experiments copied where a user can run and edit them; the version is the package's one __version__."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from support import ROOT

import golemsim
from golemsim.cli import main
from golemsim.sim import load_experiment


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_examples_copies_sources_only_and_the_experiments_load_from_there(tmp_path: Path) -> None:
    out = tmp_path / "x"
    assert main(["examples", str(out)]) == 0
    files = listing(out)
    assert {"templates/shop.api.yaml", "templates/checkout/app.py", "templates/checkout/golemsim.toml"} <= set(files)
    assert "experiments/checkout-crash.yaml" in files
    assert not [f for f in files if "__pycache__" in f or "/build/" in f or f.endswith(".pyc")]
    # The C counter needs a C toolchain to build: neither it nor its experiment ships.
    assert not [f for f in files if "counter-c" in f or f == "experiments/counter_workload.py"]
    for experiment in sorted((out / "experiments").glob("*.yaml")):
        loaded = load_experiment(experiment)
        for folder in loaded.files.templates.values():
            assert folder.is_relative_to(out), f"{experiment.name} uses {folder}, not the copy"


def test_examples_refuses_a_folder_that_is_not_empty_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["examples", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["examples", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    assert (tmp_path / "templates" / "counter" / "app.py").is_file()


def test_version_is_single_sourced() -> None:
    done = subprocess.run([sys.executable, "-m", "golemsim", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == f"golemsim {golemsim.__version__}\n"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    dynamic = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"]
    assert dynamic["version"] == {"attr": "golemsim.__version__"}


def test_the_license_is_the_apache_license_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "Apache-2.0"
