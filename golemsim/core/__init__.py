"""golemsim's durable executor core: WASM component workers with an oplog, replay and crash-resume.

This package imports neither simpy nor any widget library. Besides the executor, it exports the
building blocks the simulation assembles its own nodes from (engine, template registry, timers,
call graph, histories, snapshots); the oplog entries are in ``golemsim.core.oplog``.
"""

from .build import BuiltTemplate, build_template
from .call_graph import CallGraph, describe_cycle
from .engine import Engine
from .environment import Environment, Lock, RealEnvironment, ServiceRequest, TimerDriver, WorkerCall
from .errors import (
    BadRequest,
    BuildError,
    CallCycle,
    DatabaseLocked,
    FunctionNotFound,
    GolemError,
    Interrupted,
    InvalidComponent,
    InvocationFailed,
    InvocationPending,
    OplogCompacted,
    OplogConflict,
    OplogCorruption,
    PromiseNotFound,
    ReplayDivergence,
    TemplateNotFound,
    WorkerFailed,
)
from .executor import Executor
from .history import History, InvocationRecord, WorkerStatus, analyze, skipped_indexes
from .ids import WorkerId
from .oplog import MemoryOplogStore, OplogEntry, OplogStore, SQLiteOplogStore
from .oplog.snapshot import Snapshot
from .policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from .promises import promise_owner
from .recovery import RecoveryInfo
from .services import (
    ExternalService,
    LedgerRegistry,
    LedgerService,
    ServiceRegistry,
    ServiceRejected,
    ServiceUnavailable,
)
from .templates import FunctionSignature, MemoryTemplateStore, TemplateInfo, TemplateRegistry
from .timers import Fire, TimerQueue
from .worker_slot import WorkerInfo

__all__ = [
    "BadRequest",
    "BuildError",
    "BuiltTemplate",
    "CallCycle",
    "CallGraph",
    "DatabaseLocked",
    "Engine",
    "Environment",
    "Executor",
    "ExternalService",
    "Fire",
    "FunctionNotFound",
    "FunctionSignature",
    "GolemError",
    "History",
    "Interrupted",
    "InvalidComponent",
    "InvocationFailed",
    "InvocationPending",
    "InvocationRecord",
    "LedgerRegistry",
    "LedgerService",
    "Lock",
    "MemoryOplogStore",
    "MemoryTemplateStore",
    "OplogCompacted",
    "OplogConflict",
    "OplogCorruption",
    "OplogEntry",
    "OplogStore",
    "PromiseNotFound",
    "RealEnvironment",
    "RecoveryInfo",
    "ReplayDivergence",
    "ResourceLimits",
    "RetryPolicy",
    "SQLiteOplogStore",
    "ServiceRegistry",
    "ServiceRejected",
    "ServiceRequest",
    "ServiceUnavailable",
    "Snapshot",
    "SnapshotPolicy",
    "TemplateInfo",
    "TemplateNotFound",
    "TemplateRegistry",
    "TimerDriver",
    "TimerQueue",
    "WorkerCall",
    "WorkerFailed",
    "WorkerId",
    "WorkerInfo",
    "WorkerStatus",
    "analyze",
    "build_template",
    "describe_cycle",
    "promise_owner",
    "skipped_indexes",
]
