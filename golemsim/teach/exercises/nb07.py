"""Exercises of notebook 07, the executor for real: a client that orders once over a lossy network."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...locations import templates_dir
from ...shop import ShopServices
from ...sim.checkers import orders_consistent
from ...sim.services import ServiceRecord
from ..grading import Grade, describe_counterexample, exercise, failed, passed

Send = Callable[[dict[str, Any], "str | None"], tuple[int, Any]]

LOST = {(2, 1), (3, 1), (3, 2)}
"""(order, attempt) whose answer the network loses after the server has done the work."""
KILLED_AFTER = (2, 1)
"""After this attempt the server is killed with SIGKILL and started again on the same database."""
ORDERS = 3


class AnswerLost(ConnectionError):
    """The request reached the server, which did the work; its answer never came back."""


@exercise(
    "07.1",
    "a client that orders once over a network that loses answers",
    hint="write `def place_order(send, order)` that returns send's (status, body), however many answers get lost",
)
def order_once(answer: object) -> Grade:
    """The learner's ``place_order(send, order)`` places three orders through a real
    ``golemsim serve`` while the network loses answers (``send`` raises ``AnswerLost`` after the
    server did the work) and the server is killed with SIGKILL once. Each order must be charged
    exactly once, and the services' ledger must pass ``orders-whole-or-undone``."""
    if not callable(answer):
        raise TypeError(f"expected a function place_order(send, order), not {type(answer).__name__}")
    with tempfile.TemporaryDirectory(prefix="golemsim-07-1-") as folder:
        server = _Server(Path(folder))
        try:
            return _grade(answer, server)
        finally:
            server.stop()


def _grade(place_order: Callable[..., Any], server: _Server) -> Grade:
    services = ShopServices(server.folder / "shop.db-services.db")
    try:
        services.set_stock("pen", 10)
        network = _LossyNetwork(server)
        for number in range(1, ORDERS + 1):
            try:
                result = place_order(network.for_order(number), _order(number))
            except Exception as error:
                return failed(
                    "07.1",
                    f"order {number}: your client gave up",
                    f"place_order raised {type(error).__name__}: {error} (the server had done the work)",
                )
            if not (isinstance(result, tuple) and len(result) == 2 and result[0] == 201):
                return failed("07.1", f"order {number}: no success answer returned", f"place_order returned {result!r}")
        charges = Counter(r["payload"]["reference"] for r in services.effects("payment", "charge"))
        ledger = [_record(seq, r) for seq, r in enumerate(services.requests(), start=1)]
    finally:
        services.close()
    for number in range(1, ORDERS + 1):
        keys = sorted(key for key, n in network.order_of_key.items() if n == number)
        charged = sum(charges[network.order_id_of_key.get(key, "")] for key in keys)
        if charged != 1:
            return failed(
                "07.1",
                f"order {number} was charged {charged} times",
                f"it ran as {len(keys)} checkouts, one per key: {', '.join(keys)}",
            )
    whole = orders_consistent(ledger)
    if not whole.valid:
        return failed("07.1", "an order was left by halves", describe_counterexample(whole))
    return passed(
        "07.1",
        f"{ORDERS} orders, {len(LOST)} answers lost, the server killed once: each order charged once "
        f"({whole.name} valid for {whole.checked} orders)",
    )


class _LossyNetwork:
    """Sends the learner's requests to the server, loses the answers named in LOST and kills the
    server once; remembers which key each checkout ran under, for which order, with which id."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.order_of_key: dict[str, int] = {}
        self.order_id_of_key: dict[str, str] = {}

    def for_order(self, number: int) -> Send:
        attempts = 0

        def send(order: dict[str, Any], key: str | None = None) -> tuple[int, Any]:
            nonlocal attempts
            attempts += 1
            status, body = self.server.post("/checkout", order, key)
            ran_under = key if key is not None else f"(no key, attempt {attempts})"
            self.order_of_key[ran_under] = number
            if isinstance(body, dict) and "order-id" in body:
                self.order_id_of_key[ran_under] = body["order-id"]
            if (number, attempts) == KILLED_AFTER:
                self.server.kill_and_restart()
            if (number, attempts) in LOST:
                raise AnswerLost(f"the answer to attempt {attempts} of order {number} was lost")
            return status, body

        return send


def _order(number: int) -> dict[str, Any]:
    address = {"name": "Ada", "street": "1 Loop St", "city": "Delft", "postcode": "2611", "country": "NL"}
    return {
        "email": f"ada+{number}@example.com",
        "items": [{"sku": "pen", "quantity": 1, "unit-price-cents": 250}],
        "payment-method": "card-ok",
        "address": address,
        "currency": "EUR",
    }


def _record(seq: int, request: dict[str, Any]) -> ServiceRecord:
    """A request in the real shop's ledger as the simulator's checkers read one."""
    return ServiceRecord(
        seq,
        float(seq),
        request["service"],
        request["operation"],
        request["key"],
        request["payload"],
        request["outcome"],
        request["answer"],
    )


class _Server:
    """``golemsim serve`` for the shop in a subprocess, on a database in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.start()

    def start(self) -> None:
        api = templates_dir() / "shop.api.yaml"
        command = [sys.executable, "-m", "golemsim", "serve", "--api", str(api), "--db", str(self.folder / "shop.db")]
        log = open(self.folder / "serve.log", "a")  # the child keeps its own handle
        self.process = subprocess.Popen([*command, "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True)
        log.close()
        line: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(300)
        if not line or not line[0].startswith("http://"):
            self.stop()
            raise RuntimeError("the shop server did not start: " + (self.folder / "serve.log").read_text()[-500:])
        self.url = line[0].strip()

    def post(self, path: str, body: Any, key: str | None) -> tuple[int, Any]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        if key is not None:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, timeout=120) as reply:
                status, text = reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode()
        return status, (json.loads(text) if text else None)

    def kill_and_restart(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
