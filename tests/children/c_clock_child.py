"""Replays the C clock-reader worker in a fresh process and prints what it sees, as JSON.

Usage: python c_clock_child.py DB WALL_KEY

Opens DB (the template is stored in it), rebuilds worker clock/w by replaying its oplog
(``restart_worker``; a divergence raises and exits non-zero), then asks for its state, repeats
the recorded wall-clock read by its idempotency key WALL_KEY, and reads the wall clock once more, live.
"""

from __future__ import annotations

import json
import sys

from golemsim import Executor


def main() -> None:
    db, wall_key = sys.argv[1:3]
    with Executor.open(db) as ex:
        replayed = ex.restart_worker("clock/w")
        report = {
            "replayed": replayed,
            "sum": ex.invoke("clock", "w", "sum", []),
            "reads": ex.invoke("clock", "w", "reads", []),
            "wall_again": ex.invoke("clock", "w", "wall-ns", [], idempotency_key=wall_key),
            "wall_live": ex.invoke("clock", "w", "wall-ns", []),
        }
        report["sum_after"] = ex.invoke("clock", "w", "sum", [])
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
