"""Shared fixtures: built components (real componentize-py builds, cached) and real executors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import AUCTION, CHECKOUT, COUNTER, SHOPPING_CART, TESTKIT, TESTKIT_CHANGED
from support.postgres import fresh_database, start_server

from golemsim import Executor, LedgerRegistry, build_template
from golemsim.throwaway_postgres import ThrowawayPostgres


@pytest.fixture(scope="session")
def testkit_wasm() -> Path:
    return build_template(TESTKIT).wasm_path


@pytest.fixture(scope="session")
def testkit_changed_wasm() -> Path:
    return build_template(TESTKIT_CHANGED).wasm_path


@pytest.fixture(scope="session")
def counter_wasm() -> Path:
    return build_template(COUNTER).wasm_path


@pytest.fixture(scope="session")
def cart_wasm() -> Path:
    return build_template(SHOPPING_CART).wasm_path


@pytest.fixture(scope="session")
def auction_wasm() -> Path:
    return build_template(AUCTION).wasm_path


@pytest.fixture(scope="session")
def checkout_wasm() -> Path:
    return build_template(CHECKOUT).wasm_path


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    """A real PostgreSQL server for the session (skipped when none is installed, failed under CI)."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: ThrowawayPostgres) -> str:
    """The URL of a fresh, empty database of its own on the session's PostgreSQL server."""
    return fresh_database(postgres_server)


@pytest.fixture
def ledger(tmp_path: Path) -> LedgerRegistry:
    """The external world: a real SQLite ledger that deduplicates by idempotency key."""
    return LedgerRegistry(tmp_path / "services.db")


@pytest.fixture
def executor(tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path) -> Iterator[Executor]:
    ex = Executor.open(tmp_path / "golem.db", services=ledger)
    ex.deploy(testkit_wasm, name="testkit")
    yield ex
    ex.close()


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by -m
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The notebooks' cells (collected by nbval when .ci/test.sh adds --nbval) are slow: each notebook
    starts a kernel and re-runs simulations, so ``-m "not slow"`` leaves them out."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
