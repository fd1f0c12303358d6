"""The wasmtime engine golemsim runs components on, and the on-disk cache of compiled code."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from importlib.metadata import version
from pathlib import Path

import wasmtime
from wasmtime import component as wc

from .errors import InvalidComponent
from .progress import long_step

WASMTIME_VERSION = version("wasmtime")
# Settings that change the compiled code are part of the cache key.
ENGINE_FINGERPRINT = "fuel1-epoch1"
EPOCH_TICK_SECONDS = 0.01


def default_cache_dir() -> Path:
    """``$GOLEMSIM_CACHE_DIR``, or ``~/.cache/golemsim``."""
    configured = os.environ.get("GOLEMSIM_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "golemsim"


def component_hash(data: bytes) -> str:
    """The content hash that names a component everywhere (sha256, hex)."""
    return hashlib.sha256(data).hexdigest()


class Engine:
    """A wasmtime engine with fuel metering and epoch interruption, plus its epoch ticker.

    The ticker advances the epoch every 10 ms, so a per-invocation deadline in ticks turns
    into wall time; it runs only while the engine is in use by a real executor.
    """

    def __init__(self, cache_dir: Path | None = None) -> None:
        config = wasmtime.Config()
        config.consume_fuel = True
        config.epoch_interruption = True
        config.parallel_compilation = True
        self.wasmtime = wasmtime.Engine(config)
        self.cache_dir = (
            (cache_dir or default_cache_dir()) / "compiled" / f"wasmtime-{WASMTIME_VERSION}-{ENGINE_FINGERPRINT}"
        )
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def start_ticker(self) -> None:
        """Start advancing the epoch (idempotent; called before each guest call with a timeout,
        so once it runs this returns without taking the lock)."""
        if self._ticker is not None:
            return
        with self._lock:
            if self._ticker is None:
                self._ticker = threading.Thread(target=self._tick, name="golemsim-epoch", daemon=True)
                self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(EPOCH_TICK_SECONDS):
            self.wasmtime.increment_epoch()

    def stop(self) -> None:
        self._stop.set()

    def compile(self, data: bytes) -> wc.Component:
        """Compile a component, or load it from the cache of compiled code.

        Raises InvalidComponent for bytes that are not a valid component.
        """
        cached = self.cached_path(data)
        if cached.exists():
            try:
                return wc.Component.deserialize_file(self.wasmtime, str(cached))
            except wasmtime.WasmtimeError:
                cached.unlink(missing_ok=True)  # stale or damaged cache entry: compile afresh
        what = f"compiling component {cached.stem[:12]}"
        with long_step(what, (5, 15), "first load only; cached afterwards"):
            try:
                component = wc.Component(self.wasmtime, data)
            except wasmtime.WasmtimeError as error:
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else "unknown error"
                raise InvalidComponent(f"not a valid WebAssembly component: {first_line}") from None
            self._store_in_cache(cached, component)
        return component

    def cached_path(self, data: bytes) -> Path:
        """Where the compiled code of the component ``data`` is cached (it may not be there yet)."""
        return self.cache_dir / f"{component_hash(data)}.cwasm"

    def _store_in_cache(self, path: Path, component: wc.Component) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(component.serialize())
        os.replace(tmp, path)
