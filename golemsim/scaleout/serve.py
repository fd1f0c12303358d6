"""``golemsim serve --db postgresql://...``: one of several executor processes serving one API."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from ..core.environment import RealEnvironment
from ..core.executor import Executor
from ..core.services import ServiceRegistry
from ..gateway.check import check_against_templates
from ..gateway.definition import ApiDefinition
from ..gateway.server import GatewayServer, deploy_missing
from .backend import NodeBackend, NodeGateway
from .node import ExecutorNode


def open_node_server(
    definition: ApiDefinition,
    url: str,
    services: ServiceRegistry,
    *,
    host: str,
    port: int,
    suspend_after: float,
    request_timeout: float | None,
    shards: int | None,
    lease_seconds: float,
    advertise: str | None,
    err: IO[str],
) -> tuple[GatewayServer, Callable[[], None]]:
    """Bind the server, join the cluster (deploying what the definition lacks, once across
    processes), take a first share of the shards; returns the server and how to close it all.

    ``advertise`` is the URL the other processes reach this one at (default: the bound URL;
    set it when serving on 0.0.0.0 or behind a NAT)."""
    backend = NodeBackend(timeout=request_timeout)
    server = GatewayServer(NodeGateway(definition, backend), host, port)
    try:
        node = ExecutorNode(
            url,
            advertise or server.url,
            services,
            shards=shards,
            lease_seconds=lease_seconds,
            suspend_after=suspend_after,
        )
    except BaseException:
        server.server_close()
        raise
    try:
        backend.node = node
        with node.leases.deploy_lock():  # several processes starting at once deploy each template once
            deployer = Executor(node.store, node.templates, environment=RealEnvironment(services))
            deploy_missing(deployer, definition, err)
        check_against_templates(definition, backend.functions)
        node.start()
    except BaseException:
        node.close()
        server.server_close()
        raise
    held = sorted(node.held())
    print(
        f"executor {node.owner} at {node.address}: {len(held)} of {node.shards} shard(s) now "
        f"({', '.join(map(str, held)) or 'none yet'}); leases of {lease_seconds:g} s",
        file=err,
        flush=True,
    )
    return server, node.close
