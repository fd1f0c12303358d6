"""The virtual cluster: SimPy nodes running the real executor core and real WASM components,
under a nemesis that injects failures, with checkers that say whether anything was lost or
done twice. See docs/simulation.md and experiments/*.yaml."""

from .baton import Baton, Halted, Owner, SimLock
from .checkers import Verdict
from .clients import ClientOp, ClientSettings
from .cluster import Cluster
from .experiment import Experiment, ExperimentError, load_experiment, parse_experiment
from .metrics import Metrics
from .nemesis import Fault, RandomFaults
from .network import NetworkSettings
from .observe import Observer, SimEvent
from .results import write_results
from .runner import RunResult, run_experiment
from .services import ServiceSettings
from .storage import StorageSettings
from .trace import Trace
from .user_app import AppFiles, Invariant, RunData
from .workloads import Keys, Operation, Workload
from .world import ClusterSettings

__all__ = [
    "AppFiles",
    "Baton",
    "ClientOp",
    "ClientSettings",
    "Cluster",
    "ClusterSettings",
    "Experiment",
    "ExperimentError",
    "Fault",
    "Halted",
    "Invariant",
    "Keys",
    "Metrics",
    "NetworkSettings",
    "Observer",
    "Operation",
    "Owner",
    "RandomFaults",
    "RunData",
    "RunResult",
    "ServiceSettings",
    "SimEvent",
    "SimLock",
    "StorageSettings",
    "Trace",
    "Verdict",
    "Workload",
    "load_experiment",
    "parse_experiment",
    "run_experiment",
    "write_results",
]
