"""DBOS Transact on PostgreSQL for bench/bench_scaleout.py: runs in bench/.venv-peers, prints one JSON line.

    python dbos_scaleout.py POSTGRES_URL CLIENTS WARMUP_S SECONDS

The workflow is bench_peers' one (three ``@DBOS.step()`` functions, each calling a no-op
function), with DBOS's system database on POSTGRES_URL (a fresh, empty database). CLIENTS
threads call the workflow back to back, a new workflow id per call, for WARMUP_S + SECONDS.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from closed_loop import closed_loop  # bench/peers/, this script's folder
from dbos import DBOS


def noop(step: str, tag: str) -> None:
    """The external call of a step: nothing."""


@DBOS.step()
def step_one(tag: str) -> None:
    noop("one", tag)


@DBOS.step()
def step_two(tag: str) -> None:
    noop("two", tag)


@DBOS.step()
def step_three(tag: str) -> None:
    noop("three", tag)


@DBOS.workflow()
def three_steps(tag: str) -> int:
    step_one(tag)
    step_two(tag)
    step_three(tag)
    return 3


def main() -> None:
    url, clients, warmup, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    dbos = DBOS(config={"name": "golemsim-scaleout", "system_database_url": url, "log_level": "WARNING"})
    DBOS.launch()
    settings: dict[str, Any] = {}
    try:  # through DBOS's own engine (a private attribute: report, don't depend on it)
        with dbos._sys_db.engine.connect() as conn:
            for name in ("fsync", "synchronous_commit", "server_version"):
                settings[name] = conn.exec_driver_sql(f"SHOW {name}").scalar()
            settings["pool_size"] = dbos._sys_db.engine.pool.size()
    except Exception as error:
        settings["note"] = f"settings not read: {error.__class__.__name__}: {error}"

    def call(t: int, i: int) -> bool:
        return three_steps(f"c{t}-{i}") == 3

    result = closed_loop(call, clients, warmup, seconds, prime=2)
    print(json.dumps({"settings": settings, **result}), flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
