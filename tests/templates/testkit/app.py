"""The testkit template: one function per feature of the host interface."""

import json
import os
import time

import golemsim_guest as golem
import wit_world
from componentize_py_types import Err

_total = 0
_hoard: list[bytes] = []
promise = ""


class WitWorld(wit_world.WitWorld):
    def stamp(self) -> wit_world.Stamp:
        return wit_world.Stamp(
            wall_ns=time.time_ns(),
            monotonic_ns=time.monotonic_ns(),
            random=int.from_bytes(os.urandom(8), "little"),
        )

    def two_calls(self, tag: str) -> list[str]:
        try:
            first = golem.call("ledger", "first", {"tag": tag})
            second = golem.call("ledger", "second", {"tag": tag, "after": first["operation"]})
        except golem.ServiceRejected as error:
            raise Err(str(error)) from None
        return [first["operation"], second["operation"]]

    def three_steps(self, tag: str) -> int:
        for step in ("one", "two", "three"):
            golem.call("noop", step, tag)
        return 3

    def add(self, n: int) -> int:
        global _total
        _total += n
        return _total

    def spin(self) -> int:
        count = 0
        while True:
            count += 1

    def crash(self, message: str) -> int:
        raise RuntimeError(message)

    def bomb(self, megabytes: int) -> int:
        for _ in range(megabytes):
            _hoard.append(bytes(1024 * 1024))
        return len(_hoard)

    def check_item(self, item: wit_world.Item) -> wit_world.Item:
        if item.qty == 0:
            raise Err(f"item {item.name} has quantity zero")
        return item

    def atomic_pair(self, tag: str) -> list[str]:
        first_key = golem.idempotency_key()
        second_key = golem.idempotency_key()
        with golem.atomic():
            first = golem.call("ledger", "atomic-first", {"tag": tag}, key=first_key)
            second = golem.call("ledger", "atomic-second", {"tag": tag}, key=second_key)
        return [first["operation"], second["operation"]]

    def call_worker(self, template: str, name: str, function: str, args_json: str) -> str:
        import json

        try:
            return json.dumps(golem.invoke(template, name, function, *json.loads(args_json)))
        except (golem.ServiceRejected, golem.ServiceUnavailable) as error:
            raise Err(str(error)) from None

    def nap(self, millis: int) -> int:
        golem.sleep(millis / 1000)
        return golem.oplog_index()

    def add_later(self, n: int, delay_millis: int) -> str:
        return golem.schedule("add", n, at_ms=golem.now_ms() + delay_millis)

    def make_promise(self) -> str:
        global promise
        promise = golem.create_promise()
        return promise

    def wait_promise(self) -> str:
        return json.dumps(golem.await_promise(promise))

    def whoami(self) -> str:
        template, name = golem.worker_id()
        golem.log(f"I am {template}/{name}")
        return f"{template}/{name}"
