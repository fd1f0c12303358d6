"""golemsim side of bench/bench_peers.py: runs in golemsim's .venv, prints one JSON line.

    python golemsim_driver.py work DB WASM SEQ PER_WORKER WORKERS
    python golemsim_driver.py extras DB WASM BARE_CALLS REPLAY_ENTRIES   (bare wasmtime call, replay speed)
    python golemsim_driver.py crash DB WASM STEPS_FILE     (invokes testkit/crash three-steps; step two blocks)
    python golemsim_driver.py recover DB WASM STEPS_FILE   (open the executor, wait for that invocation)

The workflow is ``testkit.three-steps``: three external calls to the in-process service "noop",
each a durable host call. In the crash and recover modes the service appends each step's name
to STEPS_FILE when it is called, and waits in step "two" while STEPS_FILE + ".block" exists.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/, for bench_core

from bench_core import NoopService, bare_run, replay_run  # noqa: E402
from workload import log_step, timed_workload  # noqa: E402  (bench/peers/, this script's folder)

from golemsim import Executor, ServiceRegistry  # noqa: E402

KEY = "crash-invocation"


class StepsService:
    """The no-op service of the crash scenario: records each call, blocks in step "two"."""

    def __init__(self, steps_file: Path) -> None:
        self.steps_file = steps_file
        self.block = Path(str(steps_file) + ".block")

    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any:
        log_step(self.steps_file, operation)
        while operation == "two" and self.block.exists():
            time.sleep(0.005)
        return None


def work(db: Path, wasm: Path, seq: int, per_worker: int, workers: int) -> dict[str, Any]:
    services = ServiceRegistry({"noop": NoopService()})
    with Executor.open(db, services=services, fsync=True, max_live_instances=workers + 8) as ex:
        ex.deploy(wasm, name="testkit")
        for i in range(20):  # warm, as the DBOS driver does
            ex.invoke("testkit", "seq", "three-steps", [f"warm-{i}"])
        for w in range(workers):  # create and instantiate each worker first (not timed)
            ex.invoke("testkit", f"conc-{w}", "three-steps", ["warm"])
        figures = timed_workload(
            lambda i: ex.invoke("testkit", "seq", "three-steps", [f"seq-{i}"]),
            lambda w, i: ex.invoke("testkit", f"conc-{w}", "three-steps", [f"conc-{i}"]),
            seq,
            workers,
            per_worker,
        )
        synchronous = getattr(ex.oplogs, "_synchronous", "?")  # what the store set on its connections
    conn = sqlite3.connect(db)  # journal_mode is a property of the file
    settings = {"journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0], "synchronous": synchronous}
    conn.close()
    return {"settings": settings, **figures}


def extras(wasm: Path, bare_calls: int, replay_entries: int) -> dict[str, Any]:
    bare = bare_run(wasm, bare_calls)
    entries, host_calls, seconds = replay_run(wasm, replay_entries)
    return {
        "bare_p50_ms": statistics.median(bare) * 1e3,
        "replay_entries": entries,
        "replay_s": seconds,
        "replay_host_calls_per_s": host_calls / seconds,
        "replay_entries_per_s": entries / seconds,
    }


def main() -> None:
    mode, db, wasm = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode == "work":
        seq, per_worker, workers = (int(a) for a in sys.argv[4:7])
        result = work(db, wasm, seq, per_worker, workers)
    elif mode == "extras":
        result = extras(wasm, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "crash":
        services = ServiceRegistry({"noop": StepsService(Path(sys.argv[4]))})
        ex = Executor.open(db, services=services, fsync=True)
        ex.deploy(wasm, name="testkit")
        ex.invoke("testkit", "crash", "three-steps", ["crash"], idempotency_key=KEY)
        result = {"finished": True}  # never reached when the parent kills it inside step two
    elif mode == "recover":
        services = ServiceRegistry({"noop": StepsService(Path(sys.argv[4]))})
        t_open = time.perf_counter()
        ex = Executor.open(db, services=services, fsync=True)  # resumes unfinished invocations
        value = ex.invoke("testkit", "crash", "three-steps", ["crash"], idempotency_key=KEY)
        done = time.perf_counter()
        print(json.dumps({"result": value, "start_to_done_s": done - STARTED, "launch_to_done_s": done - t_open}))
        sys.stdout.flush()  # the parent stops its clock on this line, before the executor closes
        ex.close()
        return
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
