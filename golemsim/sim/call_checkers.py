"""Checkers that read across workers: do the callers' records of worker-to-worker calls agree
with what their targets did, and is anything left waiting at the end of a run without a reason?

Pure functions over an OplogStore (archived and hot entries, so compacted oplogs are read
whole); each returns a Verdict like the checkers in ``golemsim.sim.checkers``. Given one
CommittedOplogs, both read and digest every oplog once between them.

A worker-to-worker call in the caller's oplog is a ``begin-remote-write`` then a ``host-call``
of ``invoke-worker`` whose request names the target and the call's idempotency key, and whose
response is ``{"ok": result}``, ``{"err": {"rejected": ...}}`` or ``{"err": {"unavailable": ...}}``.
The target's oplog shows the same key as a pending invocation, started, then completed or failed.
"""

from __future__ import annotations

import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import GolemError
from ..core.history import History, InvocationRecord, skipped_indexes
from ..core.oplog.entries import (
    BeginRemoteWrite,
    ErrorRecorded,
    HostCall,
    InvocationCompleted,
    InvocationFailed,
    InvocationStarted,
    OplogEntry,
    PendingInvocation,
)
from ..core.oplog.store import OplogStore
from .checkers import Verdict, verdict
from .committed import CommittedOplogs, committed

Address = tuple[str, str]
"""A worker as (template, name): a call's target may name no valid WorkerId."""


@dataclass
class _Oplog:
    """One worker's whole oplog, digested, with what the duplicate check needs."""

    worker: str
    history: History
    complete: bool
    """False when compaction dropped older entries: outcomes before them are the checkpoint's."""
    starts: Counter[str]
    outcomes: Counter[str]
    results: dict[str, InvocationCompleted | InvocationFailed] = field(init=False)
    pending: dict[str, PendingInvocation] = field(init=False)
    """Accepted, not started, by key."""

    def __post_init__(self) -> None:
        self.results = self.history.results()
        self.pending = {p.idempotency_key: p for p in self.history.pending}


_Digest = tuple[dict[Address, _Oplog], list[dict[str, Any]]]
_DIGESTS: weakref.WeakKeyDictionary[CommittedOplogs, _Digest] = weakref.WeakKeyDictionary()
"""_read_all's answer for each CommittedOplogs (made once, for both checkers)."""


def _read_all(store: OplogStore) -> _Digest:
    """Every worker's oplog, and a problem for each one that cannot be read (a list of the
    caller's own). The digests are shared by the checkers given the same CommittedOplogs:
    they must not be changed."""
    oplogs = committed(store)
    digest = _DIGESTS.get(oplogs)
    if digest is None:
        digest = _DIGESTS[oplogs] = _digest(oplogs)
    return digest[0], list(digest[1])


def _digest(store: CommittedOplogs) -> _Digest:
    oplogs: dict[Address, _Oplog] = {}
    unreadable: list[dict[str, Any]] = []
    for worker, _length in store.workers():
        try:
            entries, complete = store.whole(worker)
        except GolemError as error:
            unreadable.append({"worker": str(worker), "problem": f"oplog unreadable: {error}"})
            continue
        history = store.history(worker)
        skipped = skipped_indexes(entries)
        starts: Counter[str] = Counter()
        outcomes: Counter[str] = Counter(list(history.carried))  # compacted outcomes, when the oplog is partial
        for index, entry in entries:
            if index in skipped:
                continue
            if isinstance(entry, InvocationStarted):
                starts[entry.idempotency_key] += 1
            elif isinstance(entry, (InvocationCompleted, InvocationFailed)):
                outcomes[entry.idempotency_key] += 1
        oplogs[(worker.template, worker.name)] = _Oplog(str(worker), history, complete, starts, outcomes)
    return oplogs, unreadable


def _name(address: Address) -> str:
    return f"{address[0]}/{address[1]}"


def _short(entry: OplogEntry | None, index: int) -> str:
    if entry is None:
        return "none"
    text = f"{index} {entry.kind} {entry.describe()}"
    return text if len(text) <= 160 else text[:157] + "..."


# --- worker-to-worker calls agree with their targets ------------------------------------------


def _target_did(target: _Oplog | None, key: str) -> str:
    """What the target's oplog shows for call ``key``, in words."""
    if target is None:
        return "the target has no oplog"
    outcome = target.results.get(key)
    if isinstance(outcome, InvocationCompleted):
        return f"completed it with result {outcome.result!r}"
    if isinstance(outcome, InvocationFailed):
        return f"ran it and failed: {outcome.error}"
    in_flight = target.history.in_flight
    if in_flight is not None and in_flight.idempotency_key == key:
        return "started it; still in flight"
    if key in target.pending:
        return "holds it pending, not started"
    if target.starts[key]:
        return "started it and recorded no outcome"
    return "never started it"


def _judge_call(caller: str, index: int, entry: HostCall, oplogs: dict[Address, _Oplog]) -> tuple[str, Any]:
    """Classify one recorded call: (its answer, "ok" | "rejected" | "unavailable" | "other", or
    "unverifiable" for an ok the target's compaction took away; a problem, or None)."""
    request = entry.request if isinstance(entry.request, dict) else {}
    response = entry.response
    address = (str(request.get("template")), str(request.get("name")))
    key = str(request.get("key"))
    target = oplogs.get(address)
    kind = "ok" if isinstance(response, dict) and "ok" in response else "other"
    if kind == "other" and isinstance(response, dict) and isinstance(response.get("err"), dict):
        kind = next(iter(response["err"]), "other")
    problem = {
        "caller": caller,
        "index": index,
        "target": _name(address),
        "key": key,
        "function": request.get("function"),
        "caller_recorded": response,
        "target_did": _target_did(target, key),
    }
    if kind == "ok":
        outcome = target.results.get(key) if target is not None else None
        if isinstance(outcome, InvocationCompleted) and outcome.result == response["ok"]:
            return "ok", None
        if target is not None and outcome is None and not target.complete:
            return "unverifiable", None  # its outcome went with entries compaction dropped
        if isinstance(outcome, InvocationCompleted):
            problem["problem"] = "the caller's answer differs from the target's result"
        else:
            problem["problem"] = "answered ok, but the target did not complete the call"
        return "ok", problem
    if kind == "rejected":
        if target is None:
            return "rejected", None
        outcome = target.results.get(key)
        if isinstance(outcome, InvocationCompleted):
            problem["problem"] = "rejected, but the target completed the call (its effects stand)"
        elif outcome is None and target.starts[key]:
            problem["problem"] = "rejected, but the target started the call"
        elif outcome is None and target.history.fatal_error is None and key in target.pending:
            problem["problem"] = "rejected, but the target holds the call pending: it may still run"
        else:
            return "rejected", None  # never started, or failed with its changes discarded
        return "rejected", problem
    if kind == "unavailable":
        return "unavailable", None
    problem["problem"] = "the caller recorded an answer that is neither ok, rejected nor unavailable"
    return "other", problem


def worker_calls_agree(store: OplogStore) -> Verdict:
    """Every ``invoke-worker`` answer a caller recorded agrees with its target's oplog, and no
    idempotency key runs twice on any worker.

    An ``ok`` answer: the target completed the key exactly once, with an equal result. A
    ``rejected`` answer: the target never ran the key, or its invocation failed (its changes
    were discarded). ``unavailable``: no constraint (it may or may not have happened).
    """
    oplogs, problems = _read_all(store)
    answers: Counter[str] = Counter()
    for address in sorted(oplogs):
        caller = oplogs[address]
        for record in caller.history.invocations:
            for index, entry in record.calls:
                if not (isinstance(entry, HostCall) and entry.function == "invoke-worker"):
                    continue
                kind, problem = _judge_call(caller.worker, index, entry, oplogs)
                answers[kind] += 1
                if problem is not None:
                    problems.append(problem)
    for address in sorted(oplogs):
        oplog = oplogs[address]
        for key in sorted(set(oplog.starts) | set(oplog.outcomes)):
            if oplog.starts[key] > 1 or oplog.outcomes[key] > 1:
                problems.append(
                    {
                        "target": oplog.worker,
                        "key": key,
                        "problem": "the key ran more than once",
                        "started": oplog.starts[key],
                        "outcomes": oplog.outcomes[key],
                    }
                )
    calls = sum(answers.values())
    answers["ok"] += answers["unverifiable"]
    note = f"{calls} call{'' if calls == 1 else 's'}: "
    note += ", ".join(f"{answers[k]} {k}" for k in ("ok", "rejected", "unavailable"))
    if answers["unverifiable"]:
        note += f"; {answers['unverifiable']} ok not verifiable (the target's compaction dropped its outcome)"
    if answers["other"]:
        note += f"; {answers['other']} malformed answers"
    return verdict("worker-calls-agree-with-targets", calls, problems, note)


# --- nothing stuck at the end ---------------------------------------------------------------

REASONS = {
    "sleep": "durable sleep due after the end",
    "promise": "promise not completed",
    "scheduled": "scheduled invocation due after the end",
    "interrupt": "operator interrupt",
    "failed": "worker failed",
    "retry": "retry due after the end",
    "call": "waiting on a call whose target is explained",
    "queued": "queued behind an explained invocation",
}
"""Why an invocation may still be in flight or pending when a run ends, by kind."""

MAX_NAMED = 5
"""Failed workers named in the note."""

Why = tuple[str | None, str]
"""(reason kind from REASONS, detail) when explained, (None, what is wrong) when stuck."""


class _Explainer:
    """Explains (or fails to explain) why an invocation is still open, following call chains."""

    def __init__(self, oplogs: dict[Address, _Oplog], now_ms: int) -> None:
        self.oplogs = oplogs
        self.now_ms = now_ms
        self._in_flight: dict[Address, Why] = {}
        self._visiting: list[Address] = []

    def worker_blocked(self, address: Address) -> Why | None:
        """A reason that holds for everything on the worker (failed, interrupted), if one does."""
        history = self.oplogs[address].history
        if history.fatal_error is not None:
            return "failed", f"{_name(address)} failed: {history.fatal_error}"
        if history.interrupted:
            return "interrupt", f"{_name(address)} is interrupted"
        return None

    def in_flight(self, address: Address) -> Why:
        """Why the worker's in-flight invocation has not finished."""
        if address in self._in_flight:
            return self._in_flight[address]
        if address in self._visiting:
            cycle = [*self._visiting[self._visiting.index(address) :], address]
            return None, "a call cycle nothing breaks: " + " -> ".join(_name(a) for a in cycle)
        self._visiting.append(address)
        try:
            why = self._explain_in_flight(address)
        finally:
            self._visiting.pop()
        self._in_flight[address] = why
        return why

    def _explain_in_flight(self, address: Address) -> Why:
        history = self.oplogs[address].history
        record = history.in_flight
        assert record is not None
        blocked = self.worker_blocked(address)
        if blocked is not None:
            return blocked
        wait = record.waiting_on
        if wait is None:
            last = history.last_entry
            if isinstance(last, ErrorRecorded) and last.transient and last.at_ms + last.retry_in_ms > self.now_ms:
                return "retry", f"retry {last.attempt} due at {last.at_ms + last.retry_in_ms} ms"
            return None, "in flight and waiting on nothing"
        return self._explain_wait(history, wait)

    def _explain_wait(self, history: History, wait: BeginRemoteWrite) -> Why:
        request = wait.request if isinstance(wait.request, dict) else {}
        if wait.function == "sleep":
            due = wait.at_ms + int(request.get("millis", 0))
            if due > self.now_ms:
                return "sleep", f"sleeps until {due} ms"
            return None, f"its sleep was due at {due} ms, before the end ({self.now_ms} ms)"
        if wait.function == "await-promise":
            promise = str(request.get("promise_id"))
            if not history.promises.get(promise, (False, None))[0]:
                return "promise", f"awaits promise {promise}, not completed"
            return None, f"awaits promise {promise}, which was completed: it should have woken"
        address = (str(request.get("template")), str(request.get("name")))
        key = str(request.get("key"))
        reason, detail = self.call(address, key)
        return (None if reason is None else "call"), f"waits on {_name(address)} for {key}: {detail}"

    def call(self, address: Address, key: str) -> Why:
        """Why call ``key`` to ``address`` has no answer yet."""
        target = self.oplogs.get(address)
        if target is None:
            return None, "the target has no oplog"
        outcome = target.results.get(key)
        if outcome is not None:
            did = "completed" if isinstance(outcome, InvocationCompleted) else "failed"
            return None, f"the target {did} it: the caller should have woken"
        blocked = self.worker_blocked(address)
        if blocked is not None:
            return blocked
        record = target.history.in_flight
        if record is not None and record.idempotency_key == key:
            return self.in_flight(address)
        pending = target.pending.get(key)
        if pending is None:
            return None, "the target has no trace of the call (not pending, not started)"
        reason, detail = self.pending(address, pending)
        return reason, f"the target has it {detail}"

    def pending(self, address: Address, pending: PendingInvocation) -> Why:
        """Why an accepted invocation has not started."""
        if pending.due_ms is not None and pending.due_ms > self.now_ms:
            return "scheduled", f"scheduled for {pending.due_ms} ms"
        blocked = self.worker_blocked(address)
        if blocked is not None:
            return blocked
        record = self.oplogs[address].history.in_flight
        if record is None:
            return None, "pending and due, but nothing runs"
        reason, detail = self.in_flight(address)
        behind = f"queued behind {record.idempotency_key}"
        return ("queued", f"{behind}: {detail}") if reason else (None, f"{behind}, which is stuck: {detail}")


def nothing_stuck(store: OplogStore, now_ms: int) -> Verdict:
    """At the end of a run (wall clock ``now_ms``), every invocation still in flight or pending
    has a reason: a sleep or a schedule due later, a promise not completed, an operator
    interrupt, a failed worker, or a call to a worker that is itself explained. Anything else
    (a crash nobody recovered, a caller not woken by an answer, a due invocation nobody runs)
    is a counter-example."""
    oplogs, problems = _read_all(store)
    explainer = _Explainer(oplogs, now_ms)
    explained: Counter[str] = Counter()
    failed: list[str] = []
    for address in sorted(oplogs):
        oplog = oplogs[address]
        history = oplog.history
        if history.fatal_error is not None and (history.in_flight is not None or history.pending):
            failed.append(f"{oplog.worker} ({history.fatal_error})")
        open_work: list[tuple[InvocationRecord | PendingInvocation, Why]] = []
        if history.in_flight is not None:
            open_work.append((history.in_flight, explainer.in_flight(address)))
        for pending in history.pending:
            open_work.append((pending, explainer.pending(address, pending)))
        for item, (reason, detail) in open_work:
            if reason is not None:
                explained[reason] += 1
                continue
            problems.append(
                {
                    "worker": oplog.worker,
                    "key": item.idempotency_key,
                    "function": item.function,
                    "state": "in flight" if isinstance(item, InvocationRecord) else "pending",
                    "problem": detail,
                    "last_entry": _short(history.last_entry, history.length),
                }
            )
    parts = [f"{REASONS[kind]}: {explained[kind]}" for kind in REASONS if explained[kind]]
    note = "explained: " + ("; ".join(parts) if parts else "nothing open")
    if failed:
        note += "; failed workers: " + ", ".join(failed[:MAX_NAMED]) + (" ..." if len(failed) > MAX_NAMED else "")
    return verdict("no-invocation-stuck", len(oplogs), problems, note)
