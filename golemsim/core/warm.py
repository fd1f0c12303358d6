"""Warming the caches a kernel reads: a template built into a component (componentize-py, cached by source hash)
and that component compiled by wasmtime (cached by the component's hash), so that a later ``build_template`` and
``deploy`` of the same folder, in any process using the same cache folder, find both and compile nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .build import BuiltTemplate, build_template
from .engine import Engine


@dataclass(frozen=True)
class Warmed:
    """What warming one template did."""

    built: BuiltTemplate
    compiled: bool
    """True when the component was compiled now, False when its compiled code was in the cache already."""
    build_seconds: float
    compile_seconds: float


def warm_template(folder: str | Path, *, cache_dir: Path | None = None, engine: Engine | None = None) -> Warmed:
    """Build the template in ``folder`` and compile its component into the cache of compiled code.

    ``cache_dir`` is the cache folder (default: ``default_cache_dir()``); ``engine``, if given, must use it too.
    A prebuilt component is compiled by the check its build makes, so it shows as ``compiled=False``."""
    started = time.perf_counter()
    built = build_template(folder, cache_dir=cache_dir)
    built_at = time.perf_counter()
    engine = engine or Engine(cache_dir)
    data = built.wasm_path.read_bytes()
    compiled = not engine.cached_path(data).exists()
    engine.compile(data)
    return Warmed(built, compiled, built_at - started, time.perf_counter() - built_at)
