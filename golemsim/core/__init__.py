"""golemsim's durable executor core: WASM component workers with an oplog, replay and crash-resume.

This package imports neither simpy nor any widget library. ``__all__`` is the public API (which
``golemsim`` re-exports); the building blocks the simulation assembles its nodes from (engine,
template registry, timers, call graph, histories, snapshots: FOR_THE_SIMULATION) are importable
from here too, as explicit re-exports outside ``__all__``. Oplog entries: ``golemsim.core.oplog``.
"""

from .build import BuiltTemplate, build_template
from .call_graph import CallGraph as CallGraph
from .call_graph import describe_cycle as describe_cycle
from .engine import Engine as Engine
from .environment import Environment, RealEnvironment, ServiceRequest
from .environment import Lock as Lock
from .environment import TimerDriver as TimerDriver
from .environment import WorkerCall as WorkerCall
from .errors import (
    BadArgument,
    BadRequest,
    BuildError,
    CallCycle,
    DatabaseLocked,
    Fenced,
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
from .errors import Interrupted as Interrupted
from .errors import OplogCompacted as OplogCompacted
from .executor import Executor
from .history import History as History
from .history import InvocationRecord as InvocationRecord
from .history import WorkerStatus
from .history import analyze as analyze
from .history import skipped_indexes as skipped_indexes
from .ids import WorkerId
from .oplog import MemoryOplogStore, OplogEntry, OplogStore, PostgresOplogStore, SQLiteOplogStore
from .oplog.snapshot import Snapshot as Snapshot
from .policy import ResourceLimits, RetryPolicy, SnapshotPolicy
from .promises import promise_owner as promise_owner
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
from .templates import MemoryTemplateStore as MemoryTemplateStore
from .templates import TemplateRegistry as TemplateRegistry
from .timers import Fire as Fire
from .timers import TimerQueue as TimerQueue
from .worker_slot import WorkerInfo

__all__ = [
    "BadArgument",
    "BadRequest",
    "BuildError",
    "BuiltTemplate",
    "CallCycle",
    "DatabaseLocked",
    "Environment",
    "Executor",
    "ExternalService",
    "Fenced",
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
    "PostgresOplogStore",
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

FOR_THE_SIMULATION = (
    "CallGraph",
    "Engine",
    "Fire",
    "History",
    "Interrupted",
    "InvocationRecord",
    "Lock",
    "MemoryTemplateStore",
    "OplogCompacted",
    "Snapshot",
    "TemplateRegistry",
    "TimerDriver",
    "TimerQueue",
    "WorkerCall",
    "analyze",
    "describe_cycle",
    "promise_owner",
    "skipped_indexes",
)
"""Building blocks importable from golemsim.core for golemsim's own layers (the simulation
assembles its nodes from them); not in ``__all__``, so not re-exported by ``golemsim``."""
