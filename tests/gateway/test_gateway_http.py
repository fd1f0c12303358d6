"""`golemsim serve` as a real subprocess answering real HTTP requests, on a real database."""

from __future__ import annotations

import signal
import sqlite3
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import COUNTER, TESTKIT, Reply, ServeProcess

from golemsim import Executor

API = """
name: test API
version: "0.1"
templates:
  counter: {counter}
  testkit: {testkit}
routes:
  - method: POST
    path: /counters/{{name}}/increment
    template: counter
    worker: "{{name}}"
    function: increment
    args:
      - body: by
  - method: GET
    path: /counters/{{name}}
    template: counter
    worker: "{{name}}"
    function: get
  - method: POST
    path: /counters
    template: counter
    worker: {{fresh: "c-"}}
    function: increment
    args:
      - body: by
        default: 1
    response:
      status: 201
      headers: {{Location: "/counters/{{worker}}"}}
  - method: POST
    path: /kits/{{kit}}/items
    template: testkit
    worker: "kit-{{kit}}"
    function: check-item
    args: [body]
  - method: POST
    path: /kits/{{kit}}/add/{{n}}
    template: testkit
    worker: "kit-{{kit}}"
    function: add
    args: [{{path: n}}]
  - method: POST
    path: /kits/{{kit}}/crash
    template: testkit
    worker: "kit-{{kit}}"
    function: crash
    args:
      - query: message
        default: boom
  - method: POST
    path: /kits/{{kit}}/nap
    template: testkit
    worker: "kit-{{kit}}"
    function: nap
    args: [{{query: millis}}]
  - method: GET
    path: /kits/{{kit}}
    template: testkit
    worker: "kit-{{kit}}"
    function: whoami
"""

ITEM = {
    "name": "pen",
    "qty": 2,
    "color": "blue",
    "shape": {"circle": 1.5},
    "tags": ["a"],
    "note": None,
    "perms": ["read"],
    "pair": [-1, "x"],
    "blob": [1, 2],
}


def write_api(folder: Path) -> Path:
    path = folder / "test.api.yaml"
    path.write_text(textwrap.dedent(API.format(counter=COUNTER, testkit=TESTKIT)).lstrip())
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("serve")
    process = ServeProcess(write_api(folder), folder / "golem.db")
    yield process
    assert process.stop() == 0, process.stderr()


def assert_error(reply: Reply, status: int, kind: str, message: str = "") -> None:
    assert reply.status == status, reply
    assert reply.header("Content-Type") == "application/json"
    assert set(reply.body) == {"error"} and reply.body["error"]["kind"] == kind, reply.body
    text = reply.body["error"]["message"]
    assert message in text, text
    assert "\n" not in text and "Traceback" not in reply.text


def test_invoke_and_a_repeated_idempotency_key(server: ServeProcess) -> None:
    first = server.request("POST", "/counters/c1/increment", {"by": 5}, headers={"Idempotency-Key": "k-1"})
    assert (first.status, first.body, first.header("Golem-Worker")) == (200, 5, "counter/c1")
    again = server.request("POST", "/counters/c1/increment", {"by": 5}, headers={"Idempotency-Key": "k-1"})
    assert (again.status, again.body) == (200, 5)  # the first result, not run again
    assert server.request("GET", "/counters/c1").body == 5
    assert server.request("POST", "/counters/c1/increment/", {"by": 2}).body == 7  # no key: runs


def test_a_fresh_worker_per_request_and_the_same_one_for_a_retry(server: ServeProcess) -> None:
    made = server.request("POST", "/counters", {"by": 3}, headers={"Idempotency-Key": "order-77"})
    assert made.status == 201 and made.body == 3
    worker = made.header("Golem-Worker")
    assert worker is not None and worker.startswith("counter/c-")
    assert made.header("Location") == f"/counters/{worker.split('/')[1]}"
    retried = server.request("POST", "/counters", {"by": 3}, headers={"Idempotency-Key": "order-77"})
    assert (retried.status, retried.body, retried.header("Golem-Worker")) == (201, 3, worker)
    assert server.request("GET", made.header("Location") or "").body == 3
    other = server.request("POST", "/counters")  # no key, no body: a new worker and the default argument
    assert other.status == 201 and other.body == 1 and other.header("Golem-Worker") != worker


def test_typed_arguments_from_path_and_body(server: ServeProcess) -> None:
    assert server.request("POST", "/kits/k1/add/40").body == 40
    assert server.request("POST", "/kits/k1/add/-2").body == 38
    echoed = server.request("POST", "/kits/k1/items", ITEM)
    assert echoed.status == 200 and echoed.body == ITEM  # the ok of result<item, string>
    assert server.request("GET", "/kits/k1").body == "testkit/kit-k1"


def test_errors_are_json_with_the_right_status(server: ServeProcess) -> None:
    assert_error(server.request("POST", "/counters/c2/increment", raw=b"{not json"), 400, "bad-body", "not valid JSON")
    assert_error(server.request("POST", "/counters/c2/increment", {}), 400, "missing-argument", "body field 'by'")
    assert_error(server.request("POST", "/counters/c2/increment", {"by": "five"}), 400, "bad-argument", "got 'five'")
    assert_error(server.request("POST", "/counters/c2/increment", {"by": 2**64}), 400, "bad-argument", "out of range")
    assert_error(server.request("POST", "/kits/k2/add/ten"), 400, "bad-argument", "expected s64, got 'ten'")
    assert_error(
        server.request("POST", "/kits/k2/items", {**ITEM, "qty": -1}), 400, "bad-argument", "check-item(item).qty"
    )
    assert_error(server.request("POST", "/kits/k2/nap"), 400, "missing-argument", "query parameter 'millis'")
    assert_error(server.request("GET", "/nowhere"), 404, "not-found", "no route for GET /nowhere")
    wrong = server.request("DELETE", "/counters/c2")
    assert_error(wrong, 405, "method-not-allowed", "/counters/c2 takes GET, not DELETE")
    assert wrong.header("Allow") == "GET"

    refused = server.request("POST", "/kits/k2/items", {**ITEM, "qty": 0})
    assert_error(refused, 409, "conflict", "item pen has quantity zero")
    assert refused.body["error"]["value"] == "item pen has quantity zero"

    trapped = server.request("POST", "/kits/k2/crash?message=kaboom")
    assert_error(trapped, 500, "invocation-failed", "RuntimeError: kaboom")
    assert server.request("POST", "/kits/k2/add/1").body == 1  # the worker goes on after a trap
    assert "Traceback" not in server.stderr()


def test_openapi_document(server: ServeProcess) -> None:
    reply = server.request("GET", "/openapi.json")
    assert reply.status == 200
    doc = reply.body
    assert doc["openapi"].startswith("3.1") and doc["info"] == {"title": "test API", "version": "0.1"}
    assert set(doc["paths"]) == {
        "/counters/{name}/increment",
        "/counters/{name}",
        "/counters",
        "/kits/{kit}/items",
        "/kits/{kit}/add/{n}",
        "/kits/{kit}/crash",
        "/kits/{kit}/nap",
        "/kits/{kit}",
        "/_golemsim/promises",  # built in
    }
    add = doc["paths"]["/kits/{kit}/add/{n}"]["post"]
    n = next(p for p in add["parameters"] if p["name"] == "n")
    assert n == {"name": "n", "in": "path", "required": True, "schema": add["parameters"][1]["schema"]}
    assert n["schema"]["type"] == "integer" and n["schema"]["format"] == "s64"
    check = doc["paths"]["/kits/{kit}/items"]["post"]
    item = check["requestBody"]["content"]["application/json"]["schema"]
    assert item["type"] == "object" and item["required"][:2] == ["name", "qty"]
    assert item["properties"]["qty"] == {"type": "integer", "minimum": 0, "maximum": 2**32 - 1, "format": "u32"}
    assert item["properties"]["note"] == {"oneOf": [{"type": "null"}, {"type": "string"}]}
    assert "409" in check["responses"] and "200" in check["responses"]
    fresh = doc["paths"]["/counters"]["post"]
    assert "201" in fresh["responses"]
    body = fresh["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["by"]["default"] == 1 and body["required"] == []
    operation_ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids)) == 9


@pytest.mark.slow
def test_a_worker_recovering_after_a_crash_answers_503_then_the_result(tmp_path: Path) -> None:
    api, db = write_api(tmp_path), tmp_path / "golem.db"
    in_thread = ("--suspend-after", "60")  # the nap runs in a thread, so its resumption is a recovery
    first = ServeProcess(api, db, *in_thread)
    assert first.request("POST", "/kits/sleepy/add/5").body == 5
    answers: list[Reply | BaseException] = []

    def nap() -> None:
        try:
            answers.append(first.request("POST", "/kits/sleepy/nap?millis=10000", headers={"Idempotency-Key": "nap-1"}))
        except OSError as error:  # the server dies under this request
            answers.append(error)

    thread = threading.Thread(target=nap)
    thread.start()
    time.sleep(1.5)  # the nap is under way: its begin marker is durable
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    thread.join(30)
    assert answers and isinstance(answers[0], OSError)

    second = ServeProcess(api, db, *in_thread)  # resumes the nap, which has about 8.5 s left
    try:
        busy = second.request("GET", "/kits/sleepy")
        assert_error(busy, 503, "recovering", "kit-sleepy is recovering")
        assert busy.header("Retry-After") == "1"
        assert second.request("GET", "/kits/other").status == 200  # other workers are not held up
        deadline = time.monotonic() + 60
        while (reply := second.request("GET", "/kits/sleepy")).status == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (reply.status, reply.body) == (200, "testkit/kit-sleepy")
        retried = second.request("POST", "/kits/sleepy/nap?millis=10000", headers={"Idempotency-Key": "nap-1"})
        assert retried.status == 200 and isinstance(retried.body, int)  # the resumed nap's result, not a new nap
        assert second.request("POST", "/kits/sleepy/add/1").body == 6  # its state survived the crash
    finally:
        assert second.stop() == 0, second.stderr()


@pytest.mark.slow
def test_sigterm_closes_the_executor_and_a_failed_worker_answers_500(tmp_path: Path) -> None:
    api, db = write_api(tmp_path), tmp_path / "golem.db"
    first = ServeProcess(api, db)
    for n in range(3):
        assert first.request("POST", f"/kits/broken/add/{n}").status == 200
    assert first.stop(signal.SIGTERM) == 0
    assert "stopped" in first.stderr()
    with sqlite3.connect(db) as conn:  # tear the worker's last entry, as a torn write would
        (last,) = conn.execute("SELECT max(idx) FROM oplog WHERE worker='testkit/kit-broken'").fetchone()
        (payload,) = conn.execute(
            "SELECT payload FROM oplog WHERE worker='testkit/kit-broken' AND idx=?", (last,)
        ).fetchone()
        conn.execute(
            "UPDATE oplog SET payload=? WHERE worker='testkit/kit-broken' AND idx=?",
            (payload[: len(payload) // 2], last),
        )
    second = ServeProcess(api, db)
    try:
        failed = second.request("POST", "/kits/broken/add/1")
        assert_error(failed, 500, "worker-failed", "corrupt")
        assert second.request("POST", "/kits/fine/add/1").body == 1
    finally:
        assert second.stop(signal.SIGINT) == 0
    with Executor.open(db, resume=False):  # the lock was released on the signal
        pass


@pytest.mark.slow
def test_an_answer_not_back_by_the_request_deadline_is_pending_with_its_key(tmp_path: Path) -> None:
    process = ServeProcess(write_api(tmp_path), tmp_path / "golem.db", "--request-timeout", "0.5")
    try:
        pending = process.request("POST", "/kits/slow/nap?millis=1500", headers={"Idempotency-Key": "nap-7"})
        assert_error(pending, 504, "pending", "nap-7")
        assert pending.body["error"]["idempotency_key"] == "nap-7"
        assert pending.header("Idempotency-Key") == "nap-7" and pending.header("Retry-After") is not None
        # Without a key the server made one, and names it: asking again with it gets the answer.
        unkeyed = process.request("POST", "/kits/other/nap?millis=1500")
        assert_error(unkeyed, 504, "pending")
        made = unkeyed.body["error"]["idempotency_key"]
        time.sleep(1.5)
        for worker, key in (("slow", "nap-7"), ("other", made)):
            again = process.request("POST", f"/kits/{worker}/nap?millis=1500", headers={"Idempotency-Key": key})
            assert again.status == 200 and isinstance(again.body, int), again
            # ... the same answer every time: the nap ran once.
            same = process.request("POST", f"/kits/{worker}/nap?millis=1500", headers={"Idempotency-Key": key})
            assert (same.status, same.body) == (200, again.body)
    finally:
        assert process.stop() == 0, process.stderr()
