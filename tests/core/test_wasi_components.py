"""WASI clocks and randomness are recorded whatever toolchain built the component, and what
golemsim cannot record is refused at deploy.

The components here are C (tests/templates/c-clock), built by its build.sh with Debian's clang +
wasi-libc and made components by the jco pinned in tools/wasm-toolchain (preview1 reactor adapter):
they import WASI @0.2.12, not the @0.2.9 of the componentize-py templates. Without that toolchain
the C tests skip, naming what to install; under CI (CI=true) they fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import C_CLOCK, CHILDREN, ROOT, built_by

from golemsim import Executor, InvalidComponent, RealEnvironment, build_template
from golemsim.core.instance import HOST_INTERFACE as LINKED_HOST_INTERFACE
from golemsim.core.wasi_imports import HOST_INTERFACE, RECORDED, ImportKind, check_imports, classify
from golemsim.core.wasi_shadows import shadow_for, wasi_shadows

CHILD = CHILDREN / "c_clock_child.py"
U64 = 2**64
REFUSAL = (
    "which golemsim cannot record or replay "
    "(golemsim workers reach the outside world only through golemsim:host/durable)"
)


def build_c(world: str) -> Path:
    """The component of one world of tests/templates/c-clock (built, or taken from the cache)."""
    return built_by(C_CLOCK / "build.sh", world)


@pytest.fixture(scope="module")
def clock_reader_wasm() -> Path:
    return build_c("clock-reader")


def host_calls(ex: Executor, worker: str) -> list[tuple[str, object]]:
    return [(entry.function, entry.response) for _, entry in ex.oplog(worker) if entry.kind == "host-call"]


def test_c_component_imports_wasi_of_another_version(tmp_path: Path, clock_reader_wasm: Path) -> None:
    with Executor.open(tmp_path / "golem.db") as ex:
        ex.deploy(clock_reader_wasm, name="clock")
        imports = set(ex.templates.get("clock").imports)
    assert {
        "wasi:clocks/wall-clock@0.2.12",
        "wasi:clocks/monotonic-clock@0.2.12",
        "wasi:random/random@0.2.12",
    } <= imports
    assert not any(name.endswith("@0.2.9") for name in imports)


def test_c_component_clocks_and_random_are_recorded_and_replay_in_a_new_process(
    tmp_path: Path, clock_reader_wasm: Path
) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db) as ex:
        ex.deploy(clock_reader_wasm, name="clock")
        wall = ex.invoke("clock", "w", "wall-ns", [], idempotency_key="wall-1")
        monotonic = ex.invoke("clock", "w", "monotonic-ns", [])
        random = ex.invoke("clock", "w", "random-u64", [])
        wall_2 = ex.invoke("clock", "w", "wall-ns", [])
        total = ex.invoke("clock", "w", "sum", [])
        calls = host_calls(ex, "clock/w")
    assert total == (wall + monotonic + random + wall_2) % U64
    assert calls == [
        ("wall-clock.now", wall),
        ("monotonic-clock.now", monotonic),
        ("random.bytes", random.to_bytes(8, "little").hex()),
        ("wall-clock.now", wall_2),
    ]

    child = subprocess.run(
        [sys.executable, str(CHILD), str(db), "wall-1"], capture_output=True, text=True, timeout=300, check=False
    )
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout)
    # Replay answered every read from the oplog: the state is the sum of the recorded values.
    assert seen["replayed"] == 5
    assert seen["sum"] == total
    assert seen["reads"] == 4
    assert seen["wall_again"] == wall
    assert seen["sum_after"] == (total + seen["wall_live"]) % U64

    with Executor.open(db) as ex:
        after = host_calls(ex, "clock/w")
    assert after == [*calls, ("wall-clock.now", seen["wall_live"])]


def test_component_importing_wasi_http_is_refused_at_deploy(tmp_path: Path) -> None:
    fetcher = build_c("fetcher")
    with Executor.open(tmp_path / "golem.db") as ex:
        with pytest.raises(InvalidComponent) as refused:
            ex.deploy(fetcher, name="fetcher")
        assert ex.list_templates() == []
    assert str(refused.value) == (
        f"template fetcher imports wasi:http/types@0.2.12, wasi:http/outgoing-handler@0.2.12, {REFUSAL}"
    )


def test_component_importing_a_custom_interface_is_refused_at_deploy(tmp_path: Path) -> None:
    forecaster = build_c("forecaster")
    with Executor.open(tmp_path / "golem.db") as ex:
        with pytest.raises(InvalidComponent) as refused:
            ex.deploy(forecaster, name="weather")
        assert ex.list_templates() == []
    assert str(refused.value) == f"template weather imports golemsim-test:forecast/forecast, {REFUSAL}"


@pytest.mark.parametrize(
    ("interface", "kind"),
    [
        ("wasi:clocks/wall-clock@0.2.0", ImportKind.RECORDED),
        ("wasi:clocks/wall-clock@0.2.3", ImportKind.RECORDED),
        ("wasi:clocks/monotonic-clock@0.2.9", ImportKind.RECORDED),
        ("wasi:random/random@0.2.12", ImportKind.RECORDED),
        ("wasi:random/insecure@0.2.6", ImportKind.RECORDED),
        ("wasi:random/insecure-seed@0.2.10", ImportKind.RECORDED),
        (HOST_INTERFACE, ImportKind.HOST),
        ("wasi:io/streams@0.2.9", ImportKind.INERT),
        ("wasi:io/poll@0.2.12", ImportKind.INERT),
        ("wasi:cli/environment@0.2.3", ImportKind.INERT),
        ("wasi:cli/terminal-stdout@0.2.9", ImportKind.INERT),
        ("wasi:filesystem/preopens@0.2.9", ImportKind.INERT),
        ("wasi:sockets/tcp@0.2.9", ImportKind.INERT),
        ("wasi:http/outgoing-handler@0.2.3", ImportKind.REFUSED),
        ("wasi:http/types@0.2.9", ImportKind.REFUSED),
        ("wasi:keyvalue/store@0.2.0-draft", ImportKind.REFUSED),
        ("wasi:clocks/wall-clock@0.3.0", ImportKind.REFUSED),
        ("wasi:clocks/wall-clock@0.2.0-rc-2023-11-10", ImportKind.REFUSED),
        ("wasi:clocks/wall-clock", ImportKind.REFUSED),
        ("golemsim:host/durable@0.2.0", ImportKind.REFUSED),
        ("acme:weather/forecast", ImportKind.REFUSED),
        ("now", ImportKind.REFUSED),
    ],
)
def test_imports_are_classified_by_name_whatever_the_wasi_patch_version(interface: str, kind: ImportKind) -> None:
    assert classify(interface) is kind


def test_the_refusal_names_every_refused_import_in_one_line() -> None:
    check_imports("ok", ["wasi:clocks/wall-clock@0.2.3", "wasi:io/streams@0.2.3", HOST_INTERFACE])
    with pytest.raises(InvalidComponent) as refused:
        check_imports("bank", ["wasi:io/streams@0.2.3", "wasi:http/outgoing-handler@0.2.3", "acme:ledger/api@1.0.0"])
    named = "wasi:http/outgoing-handler@0.2.3, acme:ledger/api@1.0.0"
    assert str(refused.value) == f"template bank imports {named}, {REFUSAL}"


def test_every_recorded_interface_has_recording_functions_at_every_patch_version() -> None:
    shadows = wasi_shadows(lambda _function, _request, produce: produce(), RealEnvironment())
    assert set(shadows) == RECORDED
    for interface in RECORDED:
        for patch in (0, 3, 9, 12):
            assert shadow_for(shadows, f"{interface}@0.2.{patch}") is shadows[interface]
    assert shadow_for(shadows, "wasi:clocks/wall-clock@0.3.0") is None
    assert shadow_for(shadows, "wasi:io/streams@0.2.9") is None
    assert LINKED_HOST_INTERFACE == HOST_INTERFACE


SHIPPED = sorted(
    p for p in [*ROOT.glob("templates/*/"), *ROOT.glob("tests/templates/*/")] if (p / "golemsim.toml").exists()
)


@pytest.mark.parametrize("folder", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_template_still_deploys(folder: Path) -> None:
    if (folder / "build.sh").exists() and folder.parent.name == "templates":
        built_by(folder / "build.sh")  # built by its own toolchain (templates/counter-c: C)
    with Executor.open() as ex:
        info = ex.deploy(build_template(folder).wasm_path, name="shipped")
    assert info.functions
