"""`golemsim warm`, run as a real subprocess: it builds a template and compiles its component into the cache of
compiled code, and a later process deploying the same folder (as a notebook's kernel does) compiles nothing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import COUNTER

from golemsim.core.engine import default_cache_dir


def golemsim(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GOLEMSIM_CACHE_DIR": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "golemsim", *args], env=env, capture_output=True, text=True, timeout=600
    )


def compiled(cache: Path) -> dict[str, int]:
    """The cache's compiled components, each with its modification time (a compile writes one afresh)."""
    return {p.name: p.stat().st_mtime_ns for p in (cache / "compiled").rglob("*.cwasm")}


def test_warm_refuses_a_folder_that_is_no_template(tmp_path: Path) -> None:
    done = golemsim("warm", str(tmp_path), cache=tmp_path / "cache")
    assert done.returncode == 2
    assert f"{tmp_path} is not a template folder: it has no golemsim.toml" in done.stderr


@pytest.mark.slow
def test_warm_compiles_what_a_later_deploy_reads(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    # The build is shared with the default cache (it takes 10-25 s and is build_template's, tested elsewhere);
    # the compiled code is this test's own, so warm has to compile.
    shared_builds = default_cache_dir() / "builds"
    shared_builds.mkdir(parents=True, exist_ok=True)
    (cache / "builds").symlink_to(shared_builds, target_is_directory=True)

    warm = golemsim("warm", str(COUNTER), cache=cache)
    assert warm.returncode == 0, warm.stderr
    first, done, total = warm.stdout.splitlines()
    assert first == f"[1/1] {COUNTER}: building and compiling ..."
    assert re.fullmatch(r"\[1/1\] counter v1: (built|cached) \(\d+\.\d s\), compiled \(\d+\.\d s\)", done), done
    assert total.startswith("1 templates warm in ") and total.endswith("wasmtime-50.0.1-fuel1-epoch1")
    assert re.search(r"^compiling component [0-9a-f]{12} \(5-15 s; first load only", warm.stderr, re.MULTILINE)
    after_warm = compiled(cache)
    assert len(after_warm) == 1

    deploy = golemsim("deploy", "--db", str(tmp_path / "golem.db"), str(COUNTER), cache=cache)
    assert deploy.returncode == 0, deploy.stderr
    assert "deployed counter v1" in deploy.stdout
    assert "compiling component" not in deploy.stderr and "building template" not in deploy.stderr
    assert compiled(cache) == after_warm, "the deploy compiled the component again"

    again = golemsim("warm", str(COUNTER), cache=cache)
    assert again.returncode == 0, again.stderr
    assert re.fullmatch(r"\[1/1\] counter v1: cached \(\d+\.\d s\), cached \(\d+\.\d s\)", again.stdout.splitlines()[1])
    assert compiled(cache) == after_warm
