"""DBOS Transact side of bench/bench_peers.py: runs in bench/.venv-peers, prints one JSON line.

    python dbos_driver.py work DB {default|wal} SEQ PER_THREAD THREADS
    python dbos_driver.py crash DB {default|wal} STEPS_FILE      (runs workflow "crash-wf"; step two blocks)
    python dbos_driver.py recover DB {default|wal} STEPS_FILE    (launch, wait for "crash-wf" to finish)

DBOS is a process-wide singleton, so each measurement is its own process. The workflow has three
steps, each calling a no-op function: the same work as golemsim's ``testkit.three-steps``. In the
crash and recover modes every step appends its name to STEPS_FILE when it starts, and step "two"
waits while STEPS_FILE + ".block" exists (so the parent can SIGKILL the process inside it).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

from dbos import DBOS, SetWorkflowID  # noqa: E402  (import time counts as start-up, measured from STARTED)
from workload import log_step, timed_workload  # noqa: E402  (bench/peers/, this script's folder)

STEPS_FILE: Path | None = None


def noop(step: str, tag: str) -> None:
    """The external call of a step: nothing, or (crash modes) record it and maybe block."""
    if STEPS_FILE is None:
        return
    log_step(STEPS_FILE, step)
    block = Path(str(STEPS_FILE) + ".block")
    while step == "two" and block.exists():
        time.sleep(0.005)


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


def launch(db: Path, journal: str) -> dict[str, Any]:
    """Configure and launch DBOS on the SQLite file ``db``; WAL is set on the file beforehand
    (journal_mode=WAL is persistent in the file). Returns the settings found after launch."""
    if journal == "wal":
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.close()
    dbos = DBOS(config={"name": "golemsim-bench", "system_database_url": f"sqlite:///{db}", "log_level": "WARNING"})
    DBOS.launch()
    settings: dict[str, Any] = {}
    try:  # read through DBOS's own engine (a private attribute: report, don't depend on it)
        engine = dbos._sys_db.engine
        with engine.connect() as conn:
            settings["journal_mode"] = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
            settings["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, level)
    except Exception as error:
        conn2 = sqlite3.connect(db)
        settings["journal_mode"] = conn2.execute("PRAGMA journal_mode").fetchone()[0]
        settings["note"] = f"read from a fresh connection ({error.__class__.__name__})"
        conn2.close()
    return settings


def work(db: Path, journal: str, seq: int, per_thread: int, threads: int) -> dict[str, Any]:
    settings = launch(db, journal)
    for i in range(20):  # warm
        three_steps(f"warm-{i}")
    figures = timed_workload(
        lambda i: three_steps(f"seq-{i}"), lambda t, i: three_steps(f"conc-{t}-{i}"), seq, threads, per_thread
    )
    return {"settings": settings, **figures}


def main() -> None:
    global STEPS_FILE
    mode, db, journal = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if mode == "work":
        seq, per_thread, threads = (int(a) for a in sys.argv[4:7])
        result = work(db, journal, seq, per_thread, threads)
    elif mode == "crash":
        STEPS_FILE = Path(sys.argv[4])
        launch(db, journal)
        with SetWorkflowID("crash-wf"):
            three_steps("crash")
        result = {"finished": True}  # never reached when the parent kills it inside step two
    elif mode == "recover":
        STEPS_FILE = Path(sys.argv[4])
        t_launch = time.perf_counter()
        settings = launch(db, journal)
        value = DBOS.retrieve_workflow("crash-wf").get_result(polling_interval_sec=0.002)
        done = time.perf_counter()
        result = {
            "settings": settings,
            "result": value,
            "start_to_done_s": done - STARTED,
            "launch_to_done_s": done - t_launch,
        }
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result), flush=True)
    DBOS.destroy()


if __name__ == "__main__":
    main()
