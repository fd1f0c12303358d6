"""golemsim's durable executor core: WASM component workers with an oplog, replay and crash-resume.

This package imports neither simpy nor any widget library.
"""

from .build import BuiltTemplate, build_template
from .environment import Environment, RealEnvironment, ServiceRequest
from .errors import (
    BadRequest,
    BuildError,
    CallCycle,
    DatabaseLocked,
    FunctionNotFound,
    GolemError,
    InvalidComponent,
    InvocationFailed,
    InvocationPending,
    OplogConflict,
    OplogCorruption,
    PromiseNotFound,
    ReplayDivergence,
    TemplateNotFound,
    WorkerFailed,
)
from .executor import Executor
from .history import WorkerStatus
from .ids import WorkerId
from .oplog import MemoryOplogStore, OplogEntry, OplogStore, SQLiteOplogStore
from .policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from .recovery import RecoveryInfo
from .services import (
    ExternalService,
    LedgerRegistry,
    LedgerService,
    ServiceRegistry,
    ServiceRejected,
    ServiceUnavailable,
)
from .templates import FunctionSignature, TemplateInfo
from .worker_slot import WorkerInfo

__all__ = [
    "BadRequest",
    "BuildError",
    "BuiltTemplate",
    "CallCycle",
    "DatabaseLocked",
    "Environment",
    "Executor",
    "ExternalService",
    "FunctionNotFound",
    "FunctionSignature",
    "GolemError",
    "InvalidComponent",
    "InvocationFailed",
    "InvocationPending",
    "LedgerRegistry",
    "LedgerService",
    "MemoryOplogStore",
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
    "SnapshotPolicy",
    "TemplateInfo",
    "TemplateNotFound",
    "WorkerFailed",
    "WorkerId",
    "WorkerInfo",
    "WorkerStatus",
    "build_template",
]
