"""An executor in a child process, for tests that kill it with SIGKILL.

Usage: python crash_child.py MODE DB LEDGER WASM [ARGS...]

  call FUNCTION KEY    invoke testkit/w FUNCTION("x") with idempotency key KEY and print the result.
                       While the file LEDGER.block exists, the ledger operation named in it blocks
                       (after the request is recorded, before it is applied).
  nap MILLIS           invoke testkit/w nap(MILLIS) (a durable sleep) and print the result.
  adds FIRST LAST      invoke testkit/w add(1) with keys k<FIRST>..k<LAST>, printing "ack <i> <total>".

The ledger is the external world (outside golemsim's boundary), so blocking it here is a fake
of the outside, not of golemsim.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from golemsim import Executor, LedgerRegistry


def main() -> None:
    mode, db, ledger_path, wasm = sys.argv[1:5]
    block = Path(ledger_path + ".block")

    def behaviour(service: str, operation: str, payload: Any) -> Any:
        while block.exists() and block.read_text() == operation:
            time.sleep(0.01)
        return {"service": service, "operation": operation, "payload": payload}

    ledger = LedgerRegistry(ledger_path, behaviour=behaviour)
    ex = Executor.open(db, services=ledger)
    ex.deploy(Path(wasm), name="testkit")
    if mode == "call":
        print(ex.invoke("testkit", "w", sys.argv[5], ["x"], idempotency_key=sys.argv[6]), flush=True)
    elif mode == "nap":
        print(ex.invoke("testkit", "w", "nap", [int(sys.argv[5])], idempotency_key="nap-1"), flush=True)
    elif mode == "adds":
        for i in range(int(sys.argv[5]), int(sys.argv[6]) + 1):
            total = ex.invoke("testkit", "w", "add", [1], idempotency_key=f"k{i}")
            print(f"ack {i} {total}", flush=True)
    ex.close()


if __name__ == "__main__":
    main()
