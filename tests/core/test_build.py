"""Building templates: the source hash, the cache, and clear build errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import COUNTER

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


def test_an_export_named_like_a_libc_function_gets_a_hint(tmp_path: Path) -> None:
    copy = tmp_path / "clash"
    shutil.copytree(COUNTER, copy)
    wit = copy / "wit" / "counter.wit"
    wit.write_text(wit.read_text().replace("export get:", "export close:"))
    app = copy / "app.py"
    app.write_text(app.read_text().replace("def get(", "def close("))
    with pytest.raises(BuildError, match=r"clashes with wasi-libc .* rename the export"):
        build_template(copy, cache_dir=tmp_path / "cache")
