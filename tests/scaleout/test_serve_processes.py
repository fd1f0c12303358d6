"""Two real `golemsim serve` processes over one real PostgreSQL database serve one API:
every route from either process, forwarding to the worker's owner, exactly once by key."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from support import TEMPLATES, TESTKIT
from support.several_serves import name_on, owner_of, serving, wait_for_split

COUNTER_API = TEMPLATES / "counter.api.yaml"

TESTKIT_API = f"""
name: testkit over several processes
templates:
  testkit: {TESTKIT}
routes:
  - method: POST
    path: /kits/{{kit}}/add
    template: testkit
    worker: "{{kit}}"
    function: add
    args: [{{body: n}}]
  - method: POST
    path: /kits/{{kit}}/add-later
    template: testkit
    worker: "{{kit}}"
    function: add-later
    args: [{{body: n}}, {{body: delay-millis}}]
  - method: POST
    path: /kits/{{kit}}/call
    template: testkit
    worker: "{{kit}}"
    function: call-worker
    args: [{{body: template}}, {{body: name}}, {{body: function}}, {{body: args-json}}]
  - method: POST
    path: /kits/{{kit}}/promise
    template: testkit
    worker: "{{kit}}"
    function: make-promise
  - method: POST
    path: /kits/{{kit}}/wait
    template: testkit
    worker: "{{kit}}"
    function: wait-promise
"""

pytestmark = pytest.mark.slow


def test_either_process_serves_every_worker_once_per_key(postgres_url: str, tmp_path: Path) -> None:
    with serving(COUNTER_API, postgres_url, 2, tmp_path) as (a, b):
        held = wait_for_split(postgres_url, [a, b])
        names = [f"c{i}" for i in range(12)]
        assert {owner_of(held, "counter", n) for n in names} == {a.url, b.url}  # both own some of them
        for name in names:
            for process, by in ((a, 3), (b, 4)):
                reply = process.request(
                    "POST", f"/counters/{name}/increment", {"by": by}, headers={"Idempotency-Key": f"{name}-{by}"}
                )
                assert reply.status == 200, reply.body
            again = b.request(
                "POST", f"/counters/{name}/increment", {"by": 3}, headers={"Idempotency-Key": f"{name}-3"}
            )
            assert again.body == 3  # the first answer of that key, from whichever process ran it
            assert a.request("GET", f"/counters/{name}").body == 7
            assert b.request("GET", f"/counters/{name}").body == 7


def test_worker_calls_schedules_and_promises_cross_processes(postgres_url: str, tmp_path: Path) -> None:
    api = tmp_path / "testkit.api.yaml"
    api.write_text(TESTKIT_API)
    with serving(api, postgres_url, 2, tmp_path) as (a, b):
        held = wait_for_split(postgres_url, [a, b])
        on_a, on_b = name_on(held, "testkit", a.url, "a-"), name_on(held, "testkit", b.url, "b-")

        # A worker of A calls a worker of B: delivered once, answered.
        call = {"template": "testkit", "name": on_b, "function": "add", "args-json": json.dumps([5])}
        reply = b.request("POST", f"/kits/{on_a}/call", call, headers={"Idempotency-Key": "call-1"})
        assert reply.status == 200, reply.body
        assert json.loads(reply.body) == 5
        assert a.request("POST", f"/kits/{on_b}/add", {"n": 0}).body == 5  # B's worker ran it once

        # A schedule made through B for a worker of A runs on A when due.
        assert b.request("POST", f"/kits/{on_a}/add-later", {"n": 7, "delay-millis": 300}).status == 200
        deadline = time.monotonic() + 30
        while a.request("POST", f"/kits/{on_a}/add", {"n": 0}).body != 7:
            assert time.monotonic() < deadline, "the scheduled add did not run"
            time.sleep(0.1)

        # A promise of A's worker, awaited through A, completed through B.
        promise = a.request("POST", f"/kits/{on_a}/promise").body
        waited: list[object] = []
        waiter = threading.Thread(target=lambda: waited.append(b.request("POST", f"/kits/{on_a}/wait")), daemon=True)
        waiter.start()
        time.sleep(0.5)
        done = b.request("POST", "/_golemsim/promises", {"id": promise, "value": {"ok": True}})
        assert done.status in (200, 204), done.body
        waiter.join(30)
        assert waited and json.loads(waited[0].body) == {"ok": True}  # type: ignore[attr-defined]
