"""Transient service failures are retried with exponential backoff under a policy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from support import TESTKIT

from golemsim import BadRequest, Executor, InvocationFailed, LedgerRegistry, RetryPolicy, ServiceUnavailable
from golemsim.core.history import WorkerStatus, analyze
from golemsim.core.oplog import ErrorRecorded, InvocationStarted, PendingInvocation


def flaky_ledger(path: Path, failures: int) -> LedgerRegistry:
    """A ledger whose "first" operation times out `failures` times before it answers."""
    seen = {"count": 0}

    def behaviour(service: str, operation: str, payload: Any) -> Any:
        if operation == "first" and seen["count"] < failures:
            seen["count"] += 1
            raise ServiceUnavailable(f"timeout #{seen['count']}")
        return {"service": service, "operation": operation, "payload": payload}

    return LedgerRegistry(path, behaviour=behaviour)


def test_transient_failures_are_retried_and_recorded(tmp_path: Path, testkit_wasm: Path) -> None:
    ledger = flaky_ledger(tmp_path / "services.db", failures=2)
    policy = RetryPolicy(max_attempts=4, initial_delay=0.01, multiplier=2.0)
    with Executor.open(tmp_path / "golem.db", services=ledger, retry=policy) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        assert ex.invoke("testkit", "w", "two-calls", ["t"]) == {"ok": ["first", "second"]}
        errors = [e for _, e in ex.oplog("testkit/w") if isinstance(e, ErrorRecorded)]
    assert [(e.transient, e.attempt, e.retry_in_ms) for e in errors] == [(True, 1, 10), (True, 2, 20)]
    assert "timeout #1" in errors[0].message
    # Each attempt reached the service with the same idempotency key; it was applied once.
    firsts = [key for _, op, key, _ in ledger.ledger.received() if op == "first"]
    assert len(firsts) == 3 and len(set(firsts)) == 1
    assert [op for _, op, _, _ in ledger.ledger.applied()] == ["first", "second"]


def test_exhausted_retries_reach_the_guest_as_unavailable(tmp_path: Path, testkit_wasm: Path) -> None:
    ledger = flaky_ledger(tmp_path / "services.db", failures=100)
    policy = RetryPolicy(max_attempts=2, initial_delay=0.01)
    with Executor.open(tmp_path / "golem.db", services=ledger, retry=policy) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        # testkit's two-calls lets ServiceUnavailable escape: the invocation fails and says why.
        with pytest.raises(InvocationFailed, match=r"ServiceUnavailable: ledger\.first: timeout #2 \(gave up after 2"):
            ex.invoke("testkit", "w", "two-calls", ["t"])


def test_a_template_sets_its_own_policy(tmp_path: Path) -> None:
    folder = tmp_path / "testkit"
    shutil.copytree(TESTKIT, folder)
    with open(folder / "golemsim.toml", "a") as manifest:
        manifest.write("\n[retry]\nmax_attempts = 3\ninitial_delay = 0.01\n")
    ledger = flaky_ledger(tmp_path / "services.db", failures=2)
    with Executor.open(tmp_path / "golem.db", services=ledger, retry=RetryPolicy(max_attempts=1)) as ex:
        info = ex.deploy(folder)
        assert ex.invoke("testkit", "w", "two-calls", ["t"]) == {"ok": ["first", "second"]}
    with Executor.open(tmp_path / "golem.db", services=ledger, resume=False) as ex:
        assert ex.templates.get("testkit", info.version).retry == RetryPolicy(max_attempts=3, initial_delay=0.01)


def test_a_bad_policy_is_named() -> None:
    with pytest.raises(BadRequest, match=r"x \[retry\]: unknown retry setting\(s\) \['tries'\]"):
        RetryPolicy.from_dict({"tries": 3}, "x [retry]")


def test_status_is_retrying_while_the_last_entry_is_a_transient_error() -> None:
    entries = [
        PendingInvocation("k", "f", []),
        InvocationStarted("k", "f", []),
        ErrorRecorded("ledger.first: timeout", transient=True, attempt=1, retry_in_ms=50),
    ]
    history = analyze(list(enumerate(entries, 1)))
    assert history.status(live=True) is WorkerStatus.RETRYING
    assert analyze(list(enumerate(entries[:2], 1))).status(live=True) is WorkerStatus.RUNNING


def test_an_unexpected_service_exception_is_retried_then_reported(tmp_path: Path, testkit_wasm: Path) -> None:
    def broken(service: str, operation: str, payload: Any) -> Any:
        raise ConnectionResetError("peer went away")

    ledger = LedgerRegistry(tmp_path / "services.db", behaviour=broken)
    with Executor.open(tmp_path / "golem.db", services=ledger, retry=RetryPolicy(2, initial_delay=0.01)) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        with pytest.raises(InvocationFailed, match=r"unexpected ConnectionResetError\('peer went away'\)"):
            ex.invoke("testkit", "w", "two-calls", ["t"])
        kinds = [e.kind for _, e in ex.oplog("testkit/w")]
        assert kinds.count("error") == 1 and kinds[-1] == "invocation-failed"
        assert ex.invoke("testkit", "w", "add", [1]) == 1  # the worker is still usable
