"""The oplog: a worker's append-only, checksummed history, and the stores that keep it."""

from .entries import (
    AtomicBegin,
    AtomicEnd,
    BeginRemoteWrite,
    Create,
    ErrorRecorded,
    HostCall,
    InvocationCompleted,
    InvocationFailed,
    InvocationStarted,
    Jump,
    OplogEntry,
    PendingInvocation,
    Suspend,
    decode_entry,
    encode_entry,
)
from .memory_store import MemoryOplogStore
from .postgres_store import PostgresOplogStore
from .sqlite_store import SQLiteOplogStore
from .store import OplogStore

__all__ = [
    "AtomicBegin",
    "AtomicEnd",
    "BeginRemoteWrite",
    "Create",
    "ErrorRecorded",
    "HostCall",
    "InvocationCompleted",
    "InvocationFailed",
    "InvocationStarted",
    "Jump",
    "MemoryOplogStore",
    "OplogEntry",
    "OplogStore",
    "PendingInvocation",
    "PostgresOplogStore",
    "SQLiteOplogStore",
    "Suspend",
    "decode_entry",
    "encode_entry",
]
