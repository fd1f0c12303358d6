"""`golemsim new NAME`: a folder of the user's own (a template, its API definition, a workload, an
invariant, an experiment file and a README) that runs under a node crash as it is.

Run as real subprocesses; the end-to-end test builds the scaffold's template with componentize-py
(cached by its sources, as every template is, so only the first run pays the 15-30 s build).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from golemsim.scaffold import template_name, write_scaffold

FILES = [
    "README.md",
    "experiment.yaml",
    "invariants.py",
    "mywallet.api.yaml",
    "mywallet/app.py",
    "mywallet/golemsim.toml",
    "mywallet/wit/mywallet.wit",
    "workload.py",
]


def golemsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "golemsim", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_new_writes_a_folder_whose_experiment_runs_valid_from_another_directory(tmp_path: Path) -> None:
    made = golemsim("new", "mywallet", "--dir", "apps", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "apps" / "mywallet"
    assert listing(folder) == FILES
    assert "golemsim sim run apps/mywallet/experiment.yaml" in made.stdout

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = golemsim("sim", "run", "../apps/mywallet/experiment.yaml", "--out", str(tmp_path / "out"), cwd=elsewhere)
    assert done.returncode == 0, (done.stdout, done.stderr)
    verdicts = {v["checker"]: v for v in json.loads((tmp_path / "out" / "verdicts.json").read_text())}
    assert verdicts["money-is-conserved"]["valid"] and verdicts["money-is-conserved"]["checked"] == 4
    assert all(v["valid"] for v in verdicts.values()), done.stdout
    assert verdicts["worker-calls-agree-with-targets"]["checked"] > 0  # payments went between workers
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["workers"]["workers"] == 4
    assert "crash node-1" in done.stdout and "workload.py:Payments" in done.stdout


@pytest.mark.parametrize("name", ["my wallet", "1wallet", "wallet-", "my--wallet", "a/b", "..", "world", "w" * 41])
def test_a_bad_name_exits_2_with_one_line_and_writes_nothing(tmp_path: Path, name: str) -> None:
    done = golemsim("new", name, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith(f"error: invalid name {name!r}: ") and done.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_that_is_not_empty_exits_2_unless_force(tmp_path: Path) -> None:
    mine = tmp_path / "mywallet"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    refused = golemsim("new", "mywallet", cwd=tmp_path)
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert refused.stderr == "error: mywallet exists and is not empty (--force writes the scaffold's files over it)\n"
    assert listing(mine) == ["notes.txt"]

    (mine / "workload.py").write_text("# an old one\n")
    forced = golemsim("new", "mywallet", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert listing(mine) == sorted([*FILES, "notes.txt"])
    assert (mine / "notes.txt").read_text() == "mine"  # other files are left alone
    assert "class Payments(Workload)" in (mine / "workload.py").read_text()

    (tmp_path / "empty").mkdir()  # an empty folder is fine without --force
    assert golemsim("new", "empty", cwd=tmp_path).returncode == 0


def test_the_name_is_substituted_everywhere_and_a_template_name_is_derived(tmp_path: Path) -> None:
    assert template_name("My_Wallet") == "my-wallet"
    folder = write_scaffold("My_Wallet", tmp_path / "parent")
    assert folder == tmp_path / "parent" / "My_Wallet"
    assert "my-wallet/wit/my-wallet.wit" in listing(folder) and "my-wallet.api.yaml" in listing(folder)
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text and "TEMPLATE" not in path.as_posix(), path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    assert "templates: {my-wallet: ./my-wallet}" in (folder / "experiment.yaml").read_text()
    manifest = (folder / "my-wallet" / "golemsim.toml").read_text()
    assert 'name = "my-wallet"\nversion = 1\nworld = "my-wallet"' in manifest
    assert "golemsim sim run My_Wallet/experiment.yaml" in (folder / "README.md").read_text()
