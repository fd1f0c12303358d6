"""Typed oplog entries and their versioned, checksummed encoding.

An entry is a small frozen dataclass. On disk it is a JSON object tagged with the
encoding version and the entry kind; the checksum covers the worker, the index and the
encoded bytes, so a torn write, a flipped bit or an entry copied to the wrong place is
detected when it is read.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..errors import OplogCorruption

FORMAT_VERSION = 1


@dataclass(frozen=True)
class OplogEntry:
    """Base of all entries. ``at_ms`` is the environment's wall clock when it was written."""

    kind: ClassVar[str] = "entry"
    at_ms: int = field(default=0, kw_only=True)

    def describe(self, omit: tuple[str, ...] = ()) -> str:
        """A one-line human description (used by ``golemsim oplog``), without the fields in ``omit``."""
        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "at_ms" and k not in omit}
        return " ".join(f"{k}={_short(v)}" for k, v in fields.items())


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Create(OplogEntry):
    """The worker came into being, running this template version."""

    kind: ClassVar[str] = "create"
    template: str
    version: int
    component_hash: str


@dataclass(frozen=True)
class PendingInvocation(OplogEntry):
    """An invocation was accepted; it is durable before the caller hears so.

    ``due_ms`` (wall clock, ms since the epoch) makes it a scheduled invocation: it waits
    until then, also across restarts.
    """

    kind: ClassVar[str] = "pending-invocation"
    idempotency_key: str
    function: str
    args: list[Any]
    due_ms: int | None = None


@dataclass(frozen=True)
class InvocationStarted(OplogEntry):
    """The worker began running the invocation with this key."""

    kind: ClassVar[str] = "invocation-started"
    idempotency_key: str
    function: str
    args: list[Any]


@dataclass(frozen=True)
class HostCall(OplogEntry):
    """A host call and its result: answered from here on replay."""

    kind: ClassVar[str] = "host-call"
    function: str
    request: Any
    response: Any


@dataclass(frozen=True)
class BeginRemoteWrite(OplogEntry):
    """Written (durably) before a call with an external effect; a HostCall closes it."""

    kind: ClassVar[str] = "begin-remote-write"
    function: str
    request: Any


@dataclass(frozen=True)
class InvocationCompleted(OplogEntry):
    """The invocation returned ``result`` (JSON), having used ``fuel``."""

    kind: ClassVar[str] = "invocation-completed"
    idempotency_key: str
    result: Any
    fuel: int


@dataclass(frozen=True)
class InvocationFailed(OplogEntry):
    """The invocation trapped or hit a limit; its effects on the worker's state are rolled back."""

    kind: ClassVar[str] = "invocation-failed"
    idempotency_key: str
    error: str
    fuel: int


@dataclass(frozen=True)
class ErrorRecorded(OplogEntry):
    """A failure seen by the executor: a transient one being retried, or a fatal one."""

    kind: ClassVar[str] = "error"
    message: str
    transient: bool
    attempt: int = 0
    retry_in_ms: int = 0


@dataclass(frozen=True)
class AtomicBegin(OplogEntry):
    """Start of an atomic region: a crash inside it re-runs the region whole."""

    kind: ClassVar[str] = "atomic-begin"


@dataclass(frozen=True)
class AtomicEnd(OplogEntry):
    """End of the atomic region that began at ``begin_index``."""

    kind: ClassVar[str] = "atomic-end"
    begin_index: int


@dataclass(frozen=True)
class Jump(OplogEntry):
    """Replay skips entries ``start`` to ``end`` inclusive (an abandoned atomic region)."""

    kind: ClassVar[str] = "jump"
    start: int
    end: int


@dataclass(frozen=True)
class Suspend(OplogEntry):
    """The worker's instance was dropped to save memory; it is rebuilt by replay on demand."""

    kind: ClassVar[str] = "suspend"


@dataclass(frozen=True)
class PromiseCompleted(OplogEntry):
    """A promise the worker created was completed from outside with ``value`` (JSON)."""

    kind: ClassVar[str] = "promise-completed"
    promise_id: str
    value: Any


@dataclass(frozen=True)
class Interrupt(OplogEntry):
    """An operator interrupted the worker: nothing runs until it is resumed."""

    kind: ClassVar[str] = "interrupt"


@dataclass(frozen=True)
class Resume(OplogEntry):
    """An operator resumed an interrupted worker."""

    kind: ClassVar[str] = "resume"


@dataclass(frozen=True)
class Checkpoint(OplogEntry):
    """What recovery needs from every entry before this one, written with a snapshot so that
    those entries can leave the hot oplog: the template version, recent outcomes by key, the
    invocations accepted and not yet started, promises, and whether the worker is interrupted.
    """

    kind: ClassVar[str] = "checkpoint"
    template: str
    version: int
    component_hash: str
    results: dict[str, Any]
    """Outcome by idempotency key: {"ok": result} or {"error": message} (the newest ones)."""
    pending: list[dict[str, Any]]
    """Accepted, not started: {"key", "function", "args", "due_ms"} in arrival order."""
    promises: dict[str, Any]
    """Promise id -> [completed, value]."""
    interrupted: bool = False


@dataclass(frozen=True)
class UpdatePending(OplogEntry):
    """An update of the worker to ``target_version`` was requested (mode "auto" or "snapshot")."""

    kind: ClassVar[str] = "update-pending"
    target_version: int
    mode: str


@dataclass(frozen=True)
class UpdateSucceeded(OplogEntry):
    """The worker now runs ``target_version``. After a snapshot update, recovery starts from
    the snapshot taken at this entry (the entries before it belong to the old version)."""

    kind: ClassVar[str] = "update-succeeded"
    target_version: int
    mode: str
    component_hash: str


@dataclass(frozen=True)
class UpdateFailed(OplogEntry):
    """The update to ``target_version`` failed; the worker keeps running its old version."""

    kind: ClassVar[str] = "update-failed"
    target_version: int
    mode: str
    reason: str


ENTRY_TYPES: dict[str, type[OplogEntry]] = {
    cls.kind: cls
    for cls in (
        Create,
        PendingInvocation,
        InvocationStarted,
        HostCall,
        BeginRemoteWrite,
        InvocationCompleted,
        InvocationFailed,
        ErrorRecorded,
        AtomicBegin,
        AtomicEnd,
        Jump,
        Suspend,
        PromiseCompleted,
        Interrupt,
        Resume,
        Checkpoint,
        UpdatePending,
        UpdateSucceeded,
        UpdateFailed,
    )
}


_FIELD_NAMES: dict[type[OplogEntry], tuple[str, ...]] = {
    cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in ENTRY_TYPES.values()
}
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def encode_entry(entry: OplogEntry) -> bytes:
    """Encode an entry as versioned, canonical JSON bytes."""
    body = {name: getattr(entry, name) for name in _FIELD_NAMES[type(entry)]}
    body["v"] = FORMAT_VERSION
    body["kind"] = entry.kind
    return _ENCODER.encode(body).encode()


def entry_checksum(worker: str, index: int, payload: bytes) -> int:
    """CRC-32 over the worker, the index and the encoded entry."""
    return zlib.crc32(payload, zlib.crc32(f"{worker}#{index}#".encode()))


def decode_entry(worker: str, index: int, payload: bytes, checksum: int) -> OplogEntry:
    """Decode and verify one stored entry, or raise OplogCorruption naming worker and index."""
    if entry_checksum(worker, index, payload) != checksum:
        raise OplogCorruption(worker, index, "checksum mismatch (torn or altered entry)")
    try:
        body = json.loads(payload)
        version = body.pop("v")
        kind = body.pop("kind")
    except (ValueError, KeyError, AttributeError, TypeError) as error:
        raise OplogCorruption(worker, index, f"undecodable entry ({error})") from None
    if version != FORMAT_VERSION:
        raise OplogCorruption(worker, index, f"unknown encoding version {version}")
    entry_type = ENTRY_TYPES.get(kind)
    if entry_type is None:
        raise OplogCorruption(worker, index, f"unknown entry kind {kind!r}")
    try:
        return entry_type(**body)
    except TypeError as error:
        raise OplogCorruption(worker, index, f"bad fields for {kind} ({error})") from None
