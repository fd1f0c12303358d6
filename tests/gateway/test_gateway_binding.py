"""Gateway.handle without any HTTP server, as the simulated gateway uses it: binding and response mapping."""

from __future__ import annotations

import textwrap
from pathlib import Path

from golemsim import Executor, Gateway, Request
from golemsim.gateway import Invocation, parse_api_definition
from golemsim.gateway.gateway import ExecutorBackend

API = """
routes:
  - method: POST
    path: /calls/{name}
    template: testkit
    worker: "caller-{name}"
    function: call-worker
    args:
      - value: testkit
      - path: name
      - header: X-Function
        default: whoami
      - body: call.args
        default: "[]"
  - method: POST
    path: /naps
    template: testkit
    worker: {fresh: "nap-"}
    function: nap
    args:
      - query: millis
        default: 0
  - method: GET
    path: /tags/{tag}
    template: testkit
    worker: tags
    function: two-calls
    args: [{path: tag}]
  - method: GET
    path: /tags/special
    template: testkit
    worker: tags
    function: whoami
"""


def gateway(executor: Executor) -> Gateway:
    definition = parse_api_definition(textwrap.dedent(API), source="inline.yaml")
    return Gateway(definition, ExecutorBackend(executor), new_id=iter(["n1", "n2"]).__next__)


def test_bind_reads_headers_query_literals_and_nested_body_fields(executor: Executor) -> None:
    gw = gateway(executor)
    bound = gw.bind(Request.json("POST", "/calls/bob", {"call": {"args": "[5]"}}, {"x-function": "add"}))
    assert isinstance(bound, Invocation)
    assert (str(bound.worker_id), bound.function) == ("testkit/caller-bob", "call-worker")
    assert bound.args == ["testkit", "bob", "add", "[5]"]
    assert executor.oplog("testkit/caller-bob") == []  # binding runs nothing

    defaults = gw.bind(Request("POST", "/calls/bob", {}, b""))
    assert isinstance(defaults, Invocation) and defaults.args == ["testkit", "bob", "whoami", "[]"]

    done = gw.handle(Request.json("POST", "/calls/bob", {"call": {"args": "[5]"}}, {"X-Function": "add"}))
    assert (done.status, done.body, done.headers["Golem-Worker"]) == (200, "5", "testkit/caller-bob")


def test_fresh_workers_take_the_gateway_ids_or_the_idempotency_key(executor: Executor) -> None:
    gw = gateway(executor)
    first = gw.bind(Request("POST", "/naps?millis=1"))
    second = gw.bind(Request("POST", "/naps"))
    keyed = gw.bind(Request("POST", "/naps", {"Idempotency-Key": "K"}))
    assert isinstance(first, Invocation) and isinstance(second, Invocation) and isinstance(keyed, Invocation)
    assert (first.worker, first.args, second.worker, second.args) == ("nap-n1", [1], "nap-n2", [0])
    assert keyed.worker.startswith("nap-") and keyed.idempotency_key == "K"
    again = gw.bind(Request("POST", "/naps", {"idempotency-key": "K"}))
    assert isinstance(again, Invocation) and again.worker == keyed.worker


def test_literal_segments_win_and_answers_map_by_status(executor: Executor) -> None:
    gw = gateway(executor)
    assert gw.handle(Request("GET", "/tags/special")).body == "testkit/tags"  # not two-calls("special")
    calls = gw.handle(Request("GET", "/tags/t1"))
    assert calls.status == 200 and calls.body == ["first", "second"]  # the ok of result<list<string>, string>
    assert gw.handle(Request("GET", "/tags")).status == 404
    assert gw.handle(Request("PUT", "/tags/t1")).headers["Allow"] == "GET"
    bad = gw.handle(Request("POST", "/naps?millis=-3"))
    assert (bad.status, bad.error_kind) == (400, "bad-argument")
    assert bad.body["error"]["message"] == "query parameter 'millis': nap(millis): -3 is out of range for u64"
    assert bad.content().startswith(b'{"error": {"kind": "bad-argument", "message": "query parameter')


def test_an_unknown_template_at_request_time_is_a_500(tmp_path: Path) -> None:
    with Executor.open(tmp_path / "golem.db") as ex:
        answer = gateway(ex).handle(Request("GET", "/tags/t1"))
    assert (answer.status, answer.error_kind) == (500, "template-not-found")
