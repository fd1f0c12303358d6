"""The gateway's Backend over an ExecutorNode, and the peer requests it serves beside the routes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from ..core.errors import InvocationPending
from ..core.ids import WorkerId
from ..core.promises import promise_owner
from ..core.templates import FunctionSignature
from ..gateway.definition import ApiDefinition
from ..gateway.gateway import REQUEST_TIMEOUT_SECONDS, Gateway, Invocation, Request, Response, error_response
from .node import ExecutorNode
from .peer import PEER_PREFIX, NotOwner, encode_error


class NodeBackend:
    """Runs each invocation on its worker's owner: this process, or the one the leases name."""

    def __init__(self, node: ExecutorNode | None = None, *, timeout: float | None = REQUEST_TIMEOUT_SECONDS) -> None:
        self._node = node
        self.timeout = timeout

    @property
    def node(self) -> ExecutorNode:
        """The node; set once it is made (after the server has bound its port, which names it)."""
        if self._node is None:
            raise RuntimeError("the backend has no node yet")
        return self._node

    @node.setter
    def node(self, node: ExecutorNode) -> None:
        self._node = node

    def signature(self, template: str, function: str) -> FunctionSignature:
        return self.node.templates.get(template).function(function)

    def functions(self, template: str) -> dict[str, FunctionSignature]:
        return self.node.templates.get(template).functions

    def recovering(self, template: str, worker: str) -> bool:
        host = self.node.hosts.get(self.node.shard(WorkerId(template, worker)))
        return host is not None and not host.stopped and host.executor.recovering(template, worker)

    def invoke(self, invocation: Invocation) -> Any:
        key = invocation.idempotency_key or str(uuid.uuid4())
        return self.node.invoke(invocation.worker_id, invocation.function, invocation.args, key, timeout=self.timeout)

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        return self.node.complete_promise(promise_id, value)


class NodeGateway(Gateway):
    """The API gateway of one executor process, which also answers its peers' requests."""

    def __init__(self, definition: ApiDefinition, backend: NodeBackend) -> None:
        super().__init__(definition, backend)
        self.node_backend = backend

    @property
    def node(self) -> ExecutorNode:
        return self.node_backend.node

    def handle(self, request: Request) -> Response:
        if request.path.startswith(PEER_PREFIX) and request.method == "POST":
            return self._peer(request.path[len(PEER_PREFIX) :], request.body)
        return super().handle(request)

    def _peer(self, operation: str, body: bytes) -> Response:
        node = self.node
        try:
            data = json.loads(body)
            if operation == "invoke":
                worker = WorkerId.parse(data["worker"])
                host = node.local(worker)
                timeout = data.get("timeout")
                try:
                    result = host.executor.invoke(
                        worker.template,
                        worker.name,
                        data["function"],
                        data["args"],
                        idempotency_key=data["key"],
                        timeout=timeout,
                    )
                except TimeoutError:
                    raise InvocationPending(str(worker), data["key"], timeout) from None
                return Response(200, {"result": result})
            if operation == "schedule":
                worker = WorkerId.parse(data["worker"])
                node.local(worker).executor.schedule(
                    worker.template,
                    worker.name,
                    data["function"],
                    data["args"],
                    at_ms=int(data["at_ms"]),
                    idempotency_key=data["key"],
                )
                return Response(200, {})
            if operation == "complete-promise":
                host = node.local(promise_owner(data["promise_id"]))
                return Response(200, {"completed": host.executor.complete_promise(data["promise_id"], data["value"])})
            return error_response(404, "not-found", f"no peer operation {operation!r}")
        except (ValueError, KeyError, TypeError) as bad:
            return error_response(400, "bad-request", f"malformed peer request {operation}: {bad!r}")
        except NotOwner as moved:
            return Response(409, {"error": encode_error(moved)})
        except Exception as error:
            status = 504 if isinstance(error, InvocationPending) else 500
            return Response(status, {"error": encode_error(error)})
