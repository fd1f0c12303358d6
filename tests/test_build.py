"""Building templates: the source hash, the cache, and clear build errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import COUNTER

from golemsim import BuildError, build_template
from golemsim.core.build import source_hash


def test_hash_changes_with_the_sources_only(tmp_path: Path) -> None:
    copy = tmp_path / "counter"
    shutil.copytree(COUNTER, copy)
    assert source_hash(copy) == source_hash(COUNTER)
    (copy / "app.py").write_text((copy / "app.py").read_text() + "\n# changed\n")
    assert source_hash(copy) != source_hash(COUNTER)


def test_a_cached_build_is_reused(counter_wasm: Path) -> None:
    built = build_template(COUNTER)
    assert built.cached and built.wasm_path == counter_wasm


def test_folder_without_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"has no golemsim\.toml"):
        build_template(tmp_path)


def test_broken_wit_reports_the_toolchain_error(tmp_path: Path) -> None:
    copy = tmp_path / "broken"
    shutil.copytree(COUNTER, copy)
    (copy / "wit" / "counter.wit").write_text("package broken:x;\nworld counter { export oops: func(; }\n")
    with pytest.raises(BuildError, match=r"building template counter from .* failed"):
        build_template(copy, cache_dir=tmp_path / "cache")


def test_documentation_does_not_change_the_hash(tmp_path: Path) -> None:
    copy = tmp_path / "counter"
    shutil.copytree(COUNTER, copy)
    (copy / "README.md").write_text("# rewritten docs\n")
    assert source_hash(copy) == source_hash(COUNTER)
