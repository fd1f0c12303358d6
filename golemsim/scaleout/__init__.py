"""Several executor processes over one PostgreSQL database: the real counterpart of the simulated cluster.

Workers map to shards by ``golemsim.core.ids.shard_of`` (as in the simulation); each process
holds leases on a fair share of the shards (``leases``, planned by ``lease_plan``), runs one
fenced Executor per shard it holds (``shard_host``), and routes every request about a worker to
the worker's owner, itself or a peer (``node``, ``peer``). ``golemsim serve --db postgresql://...``
runs one such process behind the API gateway (``backend``, ``serve``).
"""

from .lease_plan import Lease, LeasePlan, fair_share, plan_round
from .leases import ShardLeases
from .node import ExecutorNode, NoOwner
from .peer import NotOwner, PeerUnreachable
from .shard_host import ShardHost

__all__ = [
    "ExecutorNode",
    "Lease",
    "LeasePlan",
    "NoOwner",
    "NotOwner",
    "PeerUnreachable",
    "ShardHost",
    "ShardLeases",
    "fair_share",
    "plan_round",
]
