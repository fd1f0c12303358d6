"""The compile cache and the one-executor-per-database lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from golemsim import Executor, GolemError
from golemsim.core.engine import WASMTIME_VERSION, Engine, component_hash


@pytest.mark.slow
def test_compiled_code_is_cached_by_hash_and_wasmtime_version(tmp_path: Path, counter_wasm: Path) -> None:
    data = counter_wasm.read_bytes()
    engine = Engine(cache_dir=tmp_path)
    engine.compile(data)
    cached = engine.cache_dir / f"{component_hash(data)}.cwasm"
    assert cached.exists()
    assert f"wasmtime-{WASMTIME_VERSION}" in str(cached)
    # A damaged cache entry is not trusted: it is compiled afresh and replaced.
    cached.write_bytes(b"garbage")
    component = Engine(cache_dir=tmp_path).compile(data)
    assert "increment" in component.type.exports(Engine(cache_dir=tmp_path).wasmtime)
    assert cached.stat().st_size > 1000


def test_a_database_has_one_executor_at_a_time(tmp_path: Path) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db):
        with pytest.raises(GolemError, match="is in use by another executor process"):
            Executor.open(db)
        with Executor.open(db, resume=False, exclusive=False) as reader:  # readers need no lock
            assert reader.workers() == []
    Executor.open(db).close()  # released on close
