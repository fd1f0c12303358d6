"""The simulated API gateway: the same API definition files and the same Gateway as
``golemsim serve``, with a backend that routes each invocation to the node owning it."""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import simpy

from ..core.errors import InvocationPending
from ..core.ids import WorkerId
from ..core.templates import FunctionSignature
from ..gateway import ApiDefinition, Gateway, Request, Response
from ..gateway.gateway import Invocation
from .baton import Owner
from .router import Unreachable

if TYPE_CHECKING:
    from .cluster import Cluster

ENDPOINT = "gateway"


@dataclass(frozen=True)
class Bound:
    """Which invocation a request became (for the checkers)."""

    worker: WorkerId
    function: str
    args: list[Any]
    key: str | None


class SimBackend:
    """A gateway Backend over the simulated cluster."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.bound: dict[int, Bound] = {}
        """The invocation of each request in flight, by the id of the simulated thread handling it."""

    def signature(self, template: str, function: str) -> FunctionSignature:
        signature: FunctionSignature = self.cluster.templates.get(template).function(function)
        return signature

    def functions(self, template: str) -> dict[str, FunctionSignature]:
        functions: dict[str, FunctionSignature] = self.cluster.templates.get(template).functions
        return functions

    def recovering(self, template: str, worker: str) -> bool:
        return False  # a recovering worker answers late; the router's timeout and retry cover it

    def invoke(self, invocation: Invocation) -> Any:
        thread = self.cluster.baton.running()
        key = invocation.idempotency_key
        self.bound[id(thread)] = Bound(invocation.worker_id, invocation.function, invocation.args, key)
        if key is None:
            key = str(self.cluster.new_uuid())
        try:
            return self.cluster.router.invoke(ENDPOINT, invocation.worker_id, invocation.function, invocation.args, key)
        except Unreachable:  # it may have been accepted and may still complete: never a refusal
            raise InvocationPending(str(invocation.worker_id), key, self.cluster.settings.call_deadline) from None

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        return self.cluster.router.complete_promise(ENDPOINT, promise_id, value)


class SimGateway:
    """Answers requests from clients (endpoint "gateway")."""

    def __init__(self, cluster: Cluster, definition: ApiDefinition, rng: random.Random) -> None:
        self.cluster = cluster
        self.owner = Owner(ENDPOINT)
        self.backend = SimBackend(cluster)
        self.gateway = Gateway(definition, self.backend, new_id=lambda: f"{rng.getrandbits(80):020x}")

    def handle(self, request: Request) -> Generator[simpy.Event, Any, tuple[Response, Bound | None]]:
        """Answer one request (SimPy side); also says which invocation it became."""
        backend = self.backend

        def run() -> tuple[Response, Bound | None]:
            response = self.gateway.handle(request)
            return response, backend.bound.pop(id(self.cluster.baton.running()), None)

        answer: tuple[Response, Bound | None] = yield self.cluster.baton.call(self.owner, "request", run)
        return answer
