"""The baseline: the same checkout as stateless functions with a database, no durable execution.

A function instance runs on a node for each request. It does the checkout's steps (reserve,
charge, ship, dispatch) and writes its progress to a database row after each step; each
step's request carries a key derived from the order, so a retried request resumes from the
step the row records without doing a step twice. That is a careful design, and its gap is
the seam this project is about: nothing resumes an instance that died with its node unless
the client sends the request again. A client that does not retry (or gives up) leaves the
order half done: reserved and never released, or charged and never shipped. A durable
worker's invocation is in its oplog and finishes after recovery, whoever waits for it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import simpy

from ..core.environment import ServiceRequest
from ..core.services import ServiceRejected, ServiceUnavailable
from ..gateway import Request, Response
from .baton import Owner
from .network import Dropped, NoResponse
from .node import UP
from .world import World


def lambda_order_id(key: str) -> str:
    """The order a baseline request places: named after its Idempotency-Key (or an anonymous id)."""
    return f"order-{key}"


@dataclass
class OrderRow:
    step: str = "new"
    reservation: dict[str, Any] | None = None
    charge: dict[str, Any] | None = None
    shipment: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


@dataclass
class Database:
    """The functions' database (endpoint "database"): one row per order, latency per query."""

    env: simpy.Environment
    latency: float = 0.002
    rows: dict[str, OrderRow] = field(default_factory=dict)

    def load(self, order_id: str) -> Generator[simpy.Event, Any, OrderRow]:
        yield self.env.timeout(self.latency)
        row = self.rows.get(order_id)
        return OrderRow(**vars(row)) if row is not None else OrderRow()

    def save(self, order_id: str, row: OrderRow) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(self.latency)
        self.rows[order_id] = OrderRow(**vars(row))


class NodeDied(Exception):
    """The node running a function instance crashed: the instance is gone."""


class LambdaCheckout:
    """Serves POST /checkout with stateless functions on the cluster's nodes (endpoint "gateway")."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.owner = Owner("gateway")
        self.database = Database(world.env)
        self._ids = itertools.count(1)
        self._next_node = itertools.count()

    def handle(self, request: Request) -> Generator[simpy.Event, Any, tuple[Response, None]]:
        """The gateway: pick an up node, forward, answer 503 when it does not answer in time."""
        world = self.world
        up = [n for name, n in sorted(world.nodes.items()) if n.state == UP]
        if request.path != "/checkout" or request.method != "POST":
            return Response(404, {"error": {"kind": "not-found"}}), None
        if not up:
            return Response(503, {"error": {"kind": "unavailable"}}), None
        node = up[next(self._next_node) % len(up)]
        order_id = lambda_order_id(request.header("Idempotency-Key") or f"anon-{next(self._ids)}")
        order = request.body
        try:
            result = yield world.network.request(
                "gateway",
                node.name,
                lambda: self._function(node.name, order_id, order),
                world.settings.request_timeout,
            )
        except NoResponse:
            return Response(503, {"error": {"kind": "unavailable", "message": "the function did not answer"}}), None
        except ServiceRejected as refusal:
            return Response(409, {"error": {"kind": "rejected", "message": str(refusal)}}), None
        return Response(201, result), None

    def _function(self, node_name: str, order_id: str, body: bytes) -> Generator[simpy.Event, Any, Any]:
        """One function instance: dies with its node (the rest of it never runs)."""
        world = self.world
        node = world.nodes[node_name]
        incarnation = node.incarnation

        def alive() -> None:
            if node.state != UP or node.incarnation != incarnation:
                raise NodeDied(node_name)

        def call(service: str, operation: str, payload: dict[str, Any]) -> Generator[simpy.Event, Any, Any]:
            key = f"{order_id}/{service}.{operation}"
            for _ in range(5):
                alive()
                try:
                    answer = yield world.network.request(
                        node_name,
                        "services",
                        lambda: world.services.handle(ServiceRequest(service, operation, payload, key)),
                        world.settings.service_timeout,
                    )
                except (NoResponse, ServiceUnavailable):
                    yield world.env.timeout(0.1)
                    continue
                alive()
                return answer
            raise ServiceUnavailable(f"{service}.{operation} kept failing")

        def save(row: OrderRow) -> Generator[simpy.Event, Any, None]:
            alive()
            yield world.env.process(self.database.save(order_id, row))
            alive()

        try:
            order = json.loads(body)
            row: OrderRow = yield world.env.process(self.database.load(order_id))
            if row.result is not None:
                return row.result
            items = [{"sku": i["sku"], "quantity": i["quantity"]} for i in order["items"]]
            if row.reservation is None:
                row.reservation = yield from call("inventory", "reserve", {"order_id": order_id, "items": items})
                yield from save(row)
            reserved = row.reservation["reserved"]
            price = {i["sku"]: i["unit-price-cents"] for i in order["items"]}
            amount = sum(line["quantity"] * price[line["sku"]] for line in reserved)
            if row.charge is None:
                charge = {
                    "payment_method": order["payment-method"],
                    "amount_cents": amount,
                    "currency": order["currency"],
                    "reference": order_id,
                }
                try:
                    row.charge = yield from call("payment", "charge", charge)
                except ServiceRejected:
                    yield from call("inventory", "release", {"reservation_id": row.reservation["reservation_id"]})
                    raise
                yield from save(row)
            if row.shipment is None:
                parcel = {"order_id": order_id, "address": order["address"], "items": reserved}
                row.shipment = yield from call("shipping", "create-shipment", parcel)
                yield from save(row)
            dispatch = {"order_id": order_id, "shipment_id": row.shipment["shipment_id"], "items": reserved}
            yield from call("warehouse", "dispatch", dispatch)
            row.result = {
                "order-id": order_id,
                "charge-id": row.charge["charge_id"],
                "tracking-number": row.shipment["tracking_number"],
                "charged-cents": amount,
            }
            yield from save(row)
            return row.result
        except NodeDied:
            world.metrics.count("functions_lost_in_crash")
            world.trace.record(world.env.now, "function-lost", order=order_id, node=node_name)
            raise Dropped() from None
