"""Shared fixtures: built components (real componentize-py builds, cached) and real executors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from golemsim import Executor, LedgerRegistry, WorkerStatus, build_template

ROOT = Path(__file__).resolve().parent.parent
TESTKIT = ROOT / "tests" / "templates" / "testkit"
TESTKIT_CHANGED = ROOT / "tests" / "templates" / "testkit_changed"
COUNTER = ROOT / "templates" / "counter"
SHOPPING_CART = ROOT / "templates" / "shopping-cart"
AUCTION = ROOT / "templates" / "auction"
CHECKOUT = ROOT / "templates" / "checkout"


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


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until ``predicate()`` holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def worker_status(ex: Executor, worker: str) -> WorkerStatus:
    """The status ``workers()`` reports for one worker ("template/name")."""
    return next(w.status for w in ex.workers() if str(w.worker_id) == worker)
