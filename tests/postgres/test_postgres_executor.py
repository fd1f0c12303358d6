"""The executor on PostgreSQL: its template store, its ledgers and Executor.open(URL), on a real
server (a fresh database per test; skipped where PostgreSQL is not installed, failed under CI)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from golemsim import Executor, LedgerRegistry
from golemsim.core.errors import BadRequest, DatabaseLocked, TemplateNotFound
from golemsim.core.policy import RetryPolicy, SnapshotPolicy
from golemsim.core.postgres import connect
from golemsim.core.postgres_templates import PostgresTemplateStore
from golemsim.core.services import services_path
from golemsim.core.templates import SQLiteTemplateStore, TemplateStore
from golemsim.shop import ShopServices


def table_names(url: str) -> set[str]:
    with connect(url) as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
        return {row[0] for row in rows.fetchall()}


def with_password(url: str, password: str = "s3cret-pw") -> str:
    """The URL with a password in it (the test server trusts every connection, so any works)."""
    return url.replace("postgresql://golemsim@", f"postgresql://golemsim:{password}@")


# -- the template store: the SQLite store's behaviour, on both databases ------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def store_opener(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., TemplateStore]:
    """Opens a template store (``read_only`` optional) on one database, SQLite or PostgreSQL."""
    if request.param == "sqlite":
        db = tmp_path / "golem.db"
        return lambda read_only=False: SQLiteTemplateStore(db, read_only=read_only)
    url = request.getfixturevalue("postgres_url")
    return lambda read_only=False: PostgresTemplateStore(url, read_only=read_only)


def test_template_store_versions_resolve_and_components(store_opener: Callable[..., TemplateStore]) -> None:
    store = store_opener()
    retry = RetryPolicy.from_dict({"max_attempts": 3}, "test")
    snapshot = SnapshotPolicy.from_dict({"every_invocations": 2}, "test")
    store.put("counter", 1, b"code-one", retry=retry)
    store.put("counter", 2, b"code-two", snapshot=snapshot)
    store.put("other", 1, b"code-one")  # the same bytes: one component
    with pytest.raises(TemplateNotFound, match="'ghost' is not deployed"):
        store.resolve("ghost")
    with pytest.raises(TemplateNotFound, match="version 9"):
        store.resolve("counter", 9)
    newest, digest = store.resolve("counter")
    assert newest == 2 and store.component(digest) == b"code-two"
    assert store.resolve("counter", 1)[1] == store.resolve("other")[1]
    assert store.retry_policy("counter", 1) == retry and store.retry_policy("counter", 2) is None
    assert store.snapshot_policy("counter", 2) == snapshot and store.snapshot_policy("counter", 1) is None
    assert [(n, v, s) for n, v, _, s in store.versions()] == [("counter", 1, 8), ("counter", 2, 8), ("other", 1, 8)]

    store.put("counter", 2, b"code-2-replaced")  # replace: the version now names other code, no policy
    assert store.component(store.resolve("counter")[1]) == b"code-2-replaced"
    assert store.snapshot_policy("counter", 2) is None

    reopened = store_opener(read_only=True)
    assert reopened.versions() == store.versions()


def test_template_store_keeps_each_component_once(postgres_url: str) -> None:
    store = PostgresTemplateStore(postgres_url)
    for version in (1, 2, 3):
        store.put("t", version, b"same bytes")
    with connect(postgres_url) as conn:
        assert conn.execute("SELECT count(*) FROM components").fetchone() == (1,)
    store.close()


def test_a_read_only_template_store_on_an_empty_database_lists_none_and_creates_nothing(postgres_url: str) -> None:
    store = PostgresTemplateStore(postgres_url, read_only=True)
    assert store.versions() == []
    assert table_names(postgres_url) == set()
    writer = PostgresTemplateStore(postgres_url)
    reader = PostgresTemplateStore(postgres_url, read_only=True)
    with pytest.raises(Exception, match="read-only"):
        reader.put("t", 1, b"x")
    writer.close()
    reader.close()


OPEN_STORE = (
    "import sys; from golemsim.core.postgres_templates import PostgresTemplateStore as S; "
    "S(sys.argv[1]).put('t', int(sys.argv[2]), b'same')"
)


def test_processes_opening_a_new_database_together_all_succeed(postgres_url: str) -> None:
    processes = [
        subprocess.Popen([sys.executable, "-c", OPEN_STORE, postgres_url, str(n)], stderr=subprocess.PIPE, text=True)
        for n in range(1, 7)
    ]
    failures = [p.stderr.read() for p in processes if p.wait() != 0]  # type: ignore[union-attr]
    assert failures == []
    assert [v for _, v, _, _ in PostgresTemplateStore(postgres_url, read_only=True).versions()] == list(range(1, 7))


# -- ledgers: exactly once per key, across "processes" sharing the database ---------------------


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at once on threads of their own; their answers in order."""
    answers: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_ledger_registries_racing_the_same_keys_apply_each_once(postgres_url: str) -> None:
    applied_calls = []

    def slow(service: str, operation: str, payload: Any) -> Any:
        applied_calls.append(payload)
        time.sleep(0.02)
        return {"payload": payload, "at": time.monotonic_ns()}

    first, second = (LedgerRegistry(postgres_url, behaviour=slow) for _ in range(2))  # two "processes"
    keys = [f"key-{n}" for n in range(4)]
    calls = [
        (lambda r=registry, k=key: r.get("payment").handle("charge", k, k))
        for key in keys
        for registry in (first, second)
        for _ in range(3)
    ]
    answers = race(calls)
    assert sorted(applied_calls) == keys  # each key applied once, by one of the registries
    for key in keys:  # every repeat got the first answer
        assert len({str(a) for a, c in zip(answers, calls, strict=True) if a["payload"] == key}) == 1
    assert len(first.ledger.applied()) == 4 == len(second.ledger.applied())
    assert len(first.ledger.received()) == len(calls)
    first.close()
    second.close()


def test_two_shop_ledgers_racing_one_reservation_reserve_once(postgres_url: str) -> None:
    first, second = ShopServices(postgres_url, stock={"sku-1": 10}), ShopServices(postgres_url)
    request = {"order_id": "o-1", "items": [{"sku": "sku-1", "quantity": 3}]}
    calls = [
        (lambda s=shop: s.get("inventory").handle("reserve", request, "reserve-o-1"))
        for shop in (first, second)
        for _ in range(4)
    ]
    answers = race(calls)
    assert len({a["reservation_id"] for a in answers}) == 1
    assert first.stock("sku-1") == 7 == second.stock("sku-1")
    assert [r["outcome"] for r in first.requests()].count("applied") == 1
    assert len(second.requests()) == 8
    first.close()
    second.close()


def test_services_path_of_a_url_is_the_same_database(postgres_url: str) -> None:
    assert services_path(postgres_url) == postgres_url


# -- Executor.open(URL) ---------------------------------------------------------------------


@pytest.fixture
def opened() -> Iterator[list[Executor]]:
    """Executors a test opened, closed after it whatever happens."""
    executors: list[Executor] = []
    yield executors
    for executor in executors:
        executor.close()


def test_deploy_invoke_close_and_reopen_resumes(postgres_url: str, testkit_wasm: Path) -> None:
    with Executor.open(postgres_url) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        assert ex.invoke("testkit", "w", "add", [2], idempotency_key="k1") == 2
        assert ex.invoke("testkit", "w", "atomic-pair", ["t"]) == ["atomic-first", "atomic-second"]
        assert ex.invoke("testkit", "w", "add", [3]) == 5
    with Executor.open(postgres_url) as ex:
        assert [(t.name, t.version) for t in ex.list_templates()] == [("testkit", 1)]
        assert ex.invoke("testkit", "w", "add", [2], idempotency_key="k1") == 2  # the first result
        assert ex.invoke("testkit", "w", "add", [10]) == 15  # state rebuilt from the oplog
        assert ex.restart_worker("testkit/w") == 4
        assert [str(w.worker_id) for w in ex.workers()] == ["testkit/w"]
    reader = LedgerRegistry(postgres_url)  # the default ledger is in the same database
    assert len(reader.ledger.applied()) == 2  # atomic-pair's two calls; replay applied nothing again
    reader.close()
    assert {"oplog", "templates", "components", "requests", "applied"} <= table_names(postgres_url)


def test_a_second_exclusive_executor_is_refused_until_the_first_closes(
    postgres_url: str, opened: list[Executor]
) -> None:
    url = with_password(postgres_url)
    first = Executor.open(url)
    opened.append(first)
    with pytest.raises(DatabaseLocked) as refused:
        Executor.open(url)
    assert "is in use by another executor" in str(refused.value)
    assert "golemsim:***@" in str(refused.value) and "s3cret-pw" not in str(refused.value)
    looking = Executor.open(url, read_only=True)  # reading needs no lock
    assert looking.list_templates() == []
    looking.close()
    first.close()
    opened.append(Executor.open(url))  # released on close


def test_the_lock_goes_with_a_killed_process(postgres_url: str) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from golemsim import Executor; ex = Executor.open(sys.argv[1]); "
            "print('open', flush=True); time.sleep(60)",
            postgres_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        with pytest.raises(DatabaseLocked):
            Executor.open(postgres_url)
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while True:  # the server notices the dead session at once, or nearly
        try:
            Executor.open(postgres_url).close()
            return
        except DatabaseLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_read_only_on_an_empty_database_is_refused_and_creates_nothing(postgres_url: str) -> None:
    url = with_password(postgres_url)
    with pytest.raises(BadRequest) as refused:
        Executor.open(url, read_only=True)
    assert "is not a golemsim database" in str(refused.value)
    assert "golemsim:***@" in str(refused.value) and "s3cret-pw" not in str(refused.value)
    assert table_names(postgres_url) == set()


def test_read_only_reads_without_writing(postgres_url: str, counter_wasm: Path) -> None:
    with Executor.open(postgres_url) as ex:
        ex.deploy(counter_wasm, name="counter")
        assert ex.invoke("counter", "c1", "increment", [4]) == 4
    before = table_names(postgres_url)
    with Executor.open(postgres_url, read_only=True) as ex:
        assert [t.name for t in ex.list_templates()] == ["counter"]
        assert any(e.kind == "invocation-completed" for _, e in ex.oplog("counter/c1"))
        with pytest.raises(Exception, match="read-only"):
            ex.deploy(counter_wasm, name="other")
    assert table_names(postgres_url) == before
