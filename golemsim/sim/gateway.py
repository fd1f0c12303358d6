"""The simulated API gateway: the same API definition files and the same Gateway as
``golemsim serve``, with a backend that routes each invocation to the node owning it.

It runs the Gateway's halves itself: ``bind`` turns the request into an Invocation (which the
answer names, for the checkers), the backend invokes it through the router, and ``respond`` or
``failure`` turn the outcome into the response.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from typing import Any

import simpy

from ..core.errors import InvocationPending
from ..core.templates import FunctionSignature
from ..gateway import ApiDefinition, Gateway, Request, Response
from ..gateway.gateway import Invocation
from .baton import Owner
from .router import Unreachable
from .world import Bound, World

ENDPOINT = "gateway"


class SimBackend:
    """A gateway Backend over the simulated cluster."""

    def __init__(self, world: World) -> None:
        self.world = world

    def signature(self, template: str, function: str) -> FunctionSignature:
        signature: FunctionSignature = self.world.templates.get(template).function(function)
        return signature

    def functions(self, template: str) -> dict[str, FunctionSignature]:
        functions: dict[str, FunctionSignature] = self.world.templates.get(template).functions
        return functions

    def recovering(self, template: str, worker: str) -> bool:
        return False  # a recovering worker answers late; the router's timeout and retry cover it

    def invoke(self, invocation: Invocation) -> Any:
        key = invocation.idempotency_key
        if key is None:
            key = str(self.world.new_uuid())
        try:
            return self.world.router.invoke(ENDPOINT, invocation.worker_id, invocation.function, invocation.args, key)
        except Unreachable:  # it may have been accepted and may still complete: never a refusal
            raise InvocationPending(str(invocation.worker_id), key, self.world.settings.call_deadline) from None

    def complete_promise(self, promise_id: str, value: Any) -> bool:
        return self.world.router.complete_promise(ENDPOINT, promise_id, value)


class SimGateway:
    """Answers requests from clients (endpoint "gateway")."""

    def __init__(self, world: World, definition: ApiDefinition, rng: random.Random) -> None:
        self.world = world
        self.owner = Owner(ENDPOINT)
        self.backend = SimBackend(world)
        self.gateway = Gateway(definition, self.backend, new_id=lambda: f"{rng.getrandbits(80):020x}")

    def handle(self, request: Request) -> Generator[simpy.Event, Any, tuple[Response, Bound | None]]:
        """Answer one request (SimPy side); also says which invocation it became."""
        answer: tuple[Response, Bound | None] = yield self.world.baton.call(
            self.owner, "request", lambda: self._answer(request)
        )
        return answer

    def _answer(self, request: Request) -> tuple[Response, Bound | None]:
        """Bind, invoke, respond (on a simulated thread); never raises, like ``Gateway.handle``."""
        gateway = self.gateway
        bound: Bound | None = None
        try:
            invocation = gateway.bind(request)
            if isinstance(invocation, Response):
                return invocation, None
            bound = Bound(invocation.worker_id, invocation.function, invocation.args, invocation.idempotency_key)
            try:
                result = self.backend.invoke(invocation)
            except Exception as error:
                return gateway.failure(error, invocation), bound
            return gateway.respond(invocation, result), bound
        except Exception as error:
            return gateway.failure(error), bound
