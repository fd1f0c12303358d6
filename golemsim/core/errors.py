"""The named failures of golemsim's core. Every error a user can meet is one of these."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any


class GolemError(Exception):
    """Base class of every golemsim error."""


class BadRequest(GolemError):
    """The caller asked for something malformed: a bad argument, address or option."""


class BadArgument(BadRequest):
    """An invocation's argument does not fit its WIT type; ``index`` is the parameter's position
    (so that a caller which built the arguments, like the gateway, can say where it came from)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


class TemplateNotFound(GolemError):
    """No template of that name (and version) is deployed."""


class FunctionNotFound(BadRequest):
    """The template does not export that function."""


class InvalidComponent(GolemError):
    """The bytes are not a usable WebAssembly component."""


class BuildError(GolemError):
    """Building a template from its sources failed."""


class OplogCorruption(GolemError):
    """An oplog entry failed its checksum or could not be decoded."""

    def __init__(self, worker: str, index: int, reason: str) -> None:
        super().__init__(f"oplog of worker {worker} is corrupt at entry {index}: {reason}")
        self.worker = worker
        self.index = index
        self.reason = reason


class OplogConflict(GolemError):
    """An append did not land at the expected index (another writer, or a fenced writer)."""


class ReplayDivergence(GolemError):
    """During replay the guest did something other than what the oplog recorded."""

    def __init__(self, worker: str, index: int, expected: str, actual: str) -> None:
        super().__init__(
            f"worker {worker} diverged from its oplog at entry {index}: "
            f"recorded {expected}, but the code now does {actual}"
        )
        self.worker = worker
        self.index = index
        self.expected = expected
        self.actual = actual


class InvocationFailed(GolemError):
    """The invocation trapped, ran out of fuel or time, or hit the memory limit.

    The worker stays usable: its state is what it was before this invocation.
    """

    def __init__(self, worker: str, function: str, message: str) -> None:
        super().__init__(f"invocation of {function} on worker {worker} failed: {message}")
        self.worker = worker
        self.function = function
        self.message = message


class UnsupportedHostCall(GolemError):
    """The guest called a WASI function golemsim does not offer; that invocation fails."""


class WorkerFailed(GolemError):
    """The worker cannot run: its oplog is corrupt or its code diverged. Its oplog is kept untouched."""


class Fenced(GolemError):
    """The store refused a write: the writer's lease on the worker's shard is no longer current
    (another executor took the shard over, with a newer epoch)."""


class DatabaseLocked(GolemError):
    """Another executor process has the database open (one executor per database)."""


class PromiseNotFound(BadRequest):
    """The worker has no promise with that id."""


class Interrupted(GolemError):
    """The executor stopped the invocation (shutdown, or a simulated crash). It resumes on recovery."""


class Suspended(GolemError):
    """The invocation waits (a long durable sleep, an unfinished promise, or a call to another
    worker not yet answered): its instance is dropped and the executor resumes it from the
    oplog when the wait is over."""

    def __init__(
        self,
        message: str,
        *,
        until_ms: int | None = None,
        promise_id: str | None = None,
        call: Future[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.until_ms = until_ms
        self.promise_id = promise_id
        self.call = call
        """For a call to another worker: resolved when the target has answered."""


class CallCycle(GolemError):
    """A worker-to-worker call would close a cycle of workers waiting on each other; it was
    refused before its target saw it (the target never runs it)."""


class InvocationPending(GolemError):
    """The invocation was accepted but its answer was not back by the request's deadline.

    It may still complete (exactly once): ask again with the same idempotency key.
    """

    def __init__(self, worker: str, key: str, waited: float | None = None) -> None:
        waited_text = f" within {waited:g} s" if waited is not None else " in time"
        super().__init__(
            f"the invocation on worker {worker} is accepted but not finished{waited_text}; "
            f"ask again with Idempotency-Key: {key} for its result"
        )
        self.worker = worker
        self.key = key


class SnapshotError(GolemError):
    """Saving or loading a worker's snapshot failed, or a stored snapshot is corrupt.

    Recovery then falls back to replaying the worker's whole oplog (hot and archived).
    """


class OplogCompacted(GolemError):
    """The oplog entries asked for were compacted away without an archive; they cannot be read."""
