"""The gateway's built-in route POST /_golemsim/promises: Gateway.handle on a real executor, and
`golemsim serve` as a real subprocess answering a request that waits for a promise."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from support import TESTKIT, Reply, ServeProcess

from golemsim import Executor, Gateway, Request
from golemsim.gateway import DefinitionError, parse_api_definition
from golemsim.gateway.gateway import ExecutorBackend

PROMISES = "/_golemsim/promises"

ROUTES = """
routes:
  - method: POST
    path: /kits/{kit}/promise
    template: testkit
    worker: "{kit}"
    function: make-promise
  - method: POST
    path: /kits/{kit}/wait
    template: testkit
    worker: "{kit}"
    function: wait-promise
  - method: POST
    path: /{anything}/promises
    template: testkit
    worker: "{anything}"
    function: whoami
"""


def gateway(executor: Executor) -> Gateway:
    return Gateway(parse_api_definition(textwrap.dedent(ROUTES), source="inline.yaml"), ExecutorBackend(executor))


def complete(gw: Gateway, body: object) -> tuple[int, object]:
    response = gw.handle(Request.json("POST", PROMISES, body))
    return response.status, response.body


def kind(body: object) -> str:
    assert isinstance(body, dict)
    return str(body["error"]["kind"])


def test_the_route_completes_a_promise_once(executor: Executor) -> None:
    gw = gateway(executor)
    promise = executor.invoke("testkit", "g1", "make-promise")
    done = gw.handle(Request.json("POST", PROMISES, {"id": promise, "value": {"approved": True}}))
    assert (done.status, done.body, done.headers["Golem-Worker"]) == (200, {"completed": True}, "testkit/g1")
    assert complete(gw, {"id": promise, "value": "late"}) == (200, {"completed": False})
    assert executor.promises("testkit/g1") == {promise: (True, {"approved": True})}
    assert gw.handle(Request("POST", "/kits/g1/wait")).body == '{"approved": true}'
    null = executor.invoke("testkit", "g2", "make-promise")
    assert complete(gw, {"id": null, "value": None}) == (200, {"completed": True})


def test_bad_requests_to_the_route(executor: Executor) -> None:
    gw = gateway(executor)
    promise = executor.invoke("testkit", "g3", "make-promise")
    cases: list[tuple[object, int, str]] = [
        ({"id": "testkit/g3/promise-nope", "value": 1}, 404, "promise-not-found"),
        ({"id": "testkit/ghost/promise-x", "value": 1}, 404, "promise-not-found"),
        ({"id": "not-a-promise", "value": 1}, 400, "bad-promise-id"),
        ({"id": promise}, 400, "missing-argument"),
        ({"value": 1}, 400, "missing-argument"),
        ({"id": 7, "value": 1}, 400, "bad-body"),
        ({"id": promise, "value": 1, "extra": 2}, 400, "bad-body"),
        ([promise, 1], 400, "bad-body"),
    ]
    for body, status, expected in cases:
        got_status, got = complete(gw, body)
        assert (got_status, kind(got)) == (status, expected), body
    assert kind(gw.handle(Request("POST", PROMISES, {}, b"{oops")).body) == "bad-body"
    wrong = gw.handle(Request("GET", PROMISES))
    assert (wrong.status, wrong.headers["Allow"]) == (405, "POST")
    assert gw.handle(Request("POST", "/_golemsim/other")).status == 404
    assert executor.promises("testkit/g3") == {promise: (False, None)}  # untouched by all that


def test_definitions_cannot_shadow_the_built_in_routes(executor: Executor) -> None:
    gw = gateway(executor)
    # /{anything}/promises would match the path, but the built-in route is matched first
    assert kind(complete(gw, {"id": "not-a-promise", "value": 1})[1]) == "bad-promise-id"
    assert gw.handle(Request("POST", "/kits/promises")).body == "testkit/kits"  # the route still works elsewhere
    reserved = """
    routes:
      - method: POST
        path: /_golemsim/promises
        template: testkit
        worker: x
        function: whoami
    """
    with pytest.raises(DefinitionError) as caught:
        parse_api_definition(textwrap.dedent(reserved), source="mine.yaml")
    assert str(caught.value) == (
        "mine.yaml:4: routes[0].path: paths under /_golemsim/ are reserved for golemsim's built-in routes "
        "(POST /_golemsim/promises)"
    )
    doc = gw.openapi()
    operation = doc["paths"][PROMISES]["post"]
    assert operation["operationId"] == "golemsim.complete-promise"
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["id", "value"]
    assert set(operation["responses"]) == {"200", "400", "404", "500"}


def golemsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "golemsim", *args], capture_output=True, text=True, timeout=300)


def test_a_request_waiting_for_a_promise_answers_once_it_is_completed_over_http(tmp_path: Path) -> None:
    api = tmp_path / "kits.api.yaml"
    api.write_text(f"templates:\n  testkit: {TESTKIT}\n" + textwrap.dedent(ROUTES))
    db = tmp_path / "golem.db"
    server = ServeProcess(api, db)
    try:
        made = server.request("POST", "/kits/h1/promise")
        assert made.status == 200
        promise = made.body
        answers: list[Reply] = []
        waiter = threading.Thread(target=lambda: answers.append(server.request("POST", "/kits/h1/wait")))
        waiter.start()

        def status() -> str:  # `workers` only reads, so it runs beside serve
            rows = json.loads(golemsim("workers", "--db", str(db), "--json").stdout)
            return next(str(row["status"]) for row in rows if row["worker"] == "testkit/h1")

        deadline = time.monotonic() + 60
        while status() != "waiting":
            assert time.monotonic() < deadline, "the worker never waited for its promise"
            time.sleep(0.2)
        assert not answers  # the request is still open

        done = server.request("POST", PROMISES, {"id": promise, "value": {"approved": True, "by": "ops"}})
        assert (done.status, done.body, done.header("Golem-Worker")) == (200, {"completed": True}, "testkit/h1")
        waiter.join(30)
        assert answers and (answers[0].status, answers[0].body) == (200, '{"approved": true, "by": "ops"}')
        again = server.request("POST", PROMISES, {"id": promise, "value": "twice"})
        assert (again.status, again.body) == (200, {"completed": False})
        missing = server.request("POST", PROMISES, {"id": "testkit/h1/promise-nope", "value": 1})
        assert (missing.status, missing.body["error"]["kind"]) == (404, "promise-not-found")
        assert PROMISES in server.request("GET", "/openapi.json").body["paths"]
    finally:
        assert server.stop() == 0, server.stderr()
