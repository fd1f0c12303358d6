"""WASI functions shadowed by golemsim, so the guest's clocks and randomness are recorded.

The guest's ``time.time()``, ``time.monotonic()`` and ``os.urandom()`` reach these instead
of the host's. Each value is produced once, live, recorded in the oplog as a host call, and
answered from the oplog on replay. A shadowed interface is replaced whole; its functions
that golemsim does not offer (clock subscriptions) fail the invocation with a clear message.
Interfaces match by name whatever their WASI 0.2 patch version (``@0.2.9`` from componentize-py,
``@0.2.12`` from componentize-js or jco's preview1 adapter, ...): see ``shadow_for``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wasmtime import component as wc

from .environment import Environment
from .errors import UnsupportedHostCall
from .wasi_imports import wasi_02_base

Record = Callable[[str, Any, Callable[[], Any]], Any]
"""``record(function, request, produce)``: replay the recorded value, or produce and record it."""

Shadows = dict[str, dict[str, Callable[..., Any]]]
"""Host functions by WASI interface named without its version (``wasi:clocks/wall-clock``)."""


def wasi_shadows(record: Record, environment: Environment) -> Shadows:
    """Host functions by WASI interface (unversioned), each recording through ``record``."""

    def draw_u64() -> int:
        return int.from_bytes(environment.random_bytes(8), "little")

    def u64(function: str) -> Callable[..., int]:
        return lambda _store: int(record(function, None, draw_u64))

    def wall_now(_store: Any) -> wc.Record:
        return datetime(int(record("wall-clock.now", None, environment.wall_clock_ns)))

    def monotonic_now(_store: Any) -> int:
        return int(record("monotonic-clock.now", None, environment.monotonic_ns))

    def random_bytes(_store: Any, count: int) -> bytes:
        return bytes.fromhex(record("random.bytes", count, lambda: environment.random_bytes(count).hex()))

    def insecure_seed(_store: Any) -> tuple[int, int]:
        first, second = record("random.insecure-seed", None, lambda: [draw_u64(), draw_u64()])
        return (first, second)

    return {
        "wasi:clocks/wall-clock": {"now": wall_now, "resolution": lambda _store: datetime(1_000)},
        "wasi:clocks/monotonic-clock": {"now": monotonic_now, "resolution": lambda _store: 1_000},
        "wasi:random/random": {"get-random-bytes": random_bytes, "get-random-u64": u64("random.u64")},
        "wasi:random/insecure": {
            "get-insecure-random-bytes": random_bytes,
            "get-insecure-random-u64": u64("random.insecure-u64"),
        },
        "wasi:random/insecure-seed": {"insecure-seed": insecure_seed},
    }


def shadow_for(shadows: Shadows, interface: str) -> dict[str, Callable[..., Any]] | None:
    """The recording functions for an imported interface (``wasi:random/random@0.2.N``, any N), or None."""
    base = wasi_02_base(interface)
    return shadows.get(base) if base is not None else None


def datetime(nanos: int) -> wc.Record:
    """A ``wasi:clocks/wall-clock.datetime`` record."""
    value = wc.Record()
    value.seconds = nanos // 1_000_000_000
    value.nanoseconds = nanos % 1_000_000_000
    return value


def unsupported(interface: str, name: str) -> Callable[..., Any]:
    """A host function that fails the invocation: golemsim does not offer ``interface#name``."""

    def refuse(_store: Any, *_args: Any) -> Any:
        raise UnsupportedHostCall(
            f"{interface}#{name} is not available to golemsim workers "
            "(use the golemsim host interface: durable sleep instead of clock subscriptions)"
        )

    return refuse
