"""golemsim against DBOS Transact on the same 3-step durable workflow; one command, one table.

    .venv/bin/python bench/bench_peers.py [--quick] [--rounds N]

Sets up its own peer venv (bench/.venv-peers, from bench/requirements-peers.txt; created on the
first run, reused after, remade when that file changes), so DBOS never becomes a dependency of
golemsim. Each measurement runs in its own process (DBOS is a process-wide singleton), and the
systems alternate within every round: golemsim, DBOS on its default SQLite settings (rollback
journal), DBOS on SQLite in WAL mode. The table gives the median over the rounds and the ratio
golemsim / peer. Measured per system and round:

- a 3-step workflow (three recorded steps, each a no-op external call) run sequentially
  (p50, p99, throughput) and by 16 threads at once (throughput);
- crash recovery: a process is SIGKILLed inside step two; a fresh process is started and timed
  from its start (and from Executor.open / DBOS.launch) to the workflow's result; an append-only
  side file counts how often each step ran.

golemsim only: the durability overhead (the same component called bare in wasmtime) and replay speed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
PEERS_VENV = BENCH / ".venv-peers"
REQUIREMENTS = BENCH / "requirements-peers.txt"
TESTKIT = BENCH.parent / "tests" / "templates" / "testkit"
SYSTEMS = ("golemsim", "dbos-default", "dbos-wal")
LABELS = {
    "golemsim": "golemsim (SQLite WAL, fsync)",
    "dbos-default": "DBOS (default SQLite)",
    "dbos-wal": "DBOS (SQLite WAL)",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_peers() -> Path:
    """The peer venv's python; (re)install the peers if requirements-peers.txt changed."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / ".requirements.sha256"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log(f"setting up {PEERS_VENV.relative_to(BENCH.parent)} from {REQUIREMENTS.name} ...")
    if not python.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        check=True,
    )
    stamp.write_text(wanted)
    return python


def driver_command(system: str, peers_python: Path, wasm: Path) -> Callable[[str, Path, list[str]], list[str]]:
    """How to start one driver process: mode, database path and mode arguments in, argv out."""
    if system == "golemsim":
        script = BENCH / "peers" / "golemsim_driver.py"
        return lambda mode, db, args: [sys.executable, str(script), mode, str(db), str(wasm), *args]
    journal = system.removeprefix("dbos-")
    script = BENCH / "peers" / "dbos_driver.py"
    return lambda mode, db, args: [str(peers_python), str(script), mode, str(db), journal, *args]


def run_json(argv: list[str], cwd: Path, timeout: float = 300) -> dict[str, Any]:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def crash_and_recover(command: Callable[[str, Path, list[str]], list[str]], folder: Path) -> dict[str, Any]:
    """SIGKILL a process inside step two of the workflow, then time a fresh process to its result."""
    db, steps = folder / "crash.db", folder / "steps.txt"
    block = Path(str(steps) + ".block")
    block.write_text("block step two")
    child = subprocess.Popen(command("crash", db, [str(steps)]), cwd=folder, stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (steps.exists() and "two" in steps.read_text().split()):
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the crash child never reached step two (exit {child.returncode})")
        time.sleep(0.005)
    time.sleep(0.05)  # well inside step two
    child.send_signal(signal.SIGKILL)
    child.wait()
    at_kill = steps.read_text().split()
    block.unlink()
    start = time.perf_counter()
    fresh = subprocess.Popen(command("recover", db, [str(steps)]), cwd=folder, stdout=subprocess.PIPE, text=True)
    assert fresh.stdout is not None
    line = fresh.stdout.readline()
    process_to_done = time.perf_counter() - start
    fresh.communicate(timeout=120)
    if fresh.returncode != 0 or not line:
        raise RuntimeError(f"recovery process failed (exit {fresh.returncode})")
    result: dict[str, Any] = json.loads(line)
    ran = steps.read_text().split()
    result.update(
        spawn_to_done_s=process_to_done,
        at_kill=at_kill,
        runs={step: ran.count(step) for step in ("one", "two", "three")},
    )
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer workflows and rounds (about 2 minutes)")
    parser.add_argument("--rounds", type=int, help="rounds of alternating runs (default 5, --quick 2)")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    seq, per_thread, threads = (60, 4, 16) if args.quick else (300, 15, 16)
    bare_calls, replay_entries = (200, 3_000) if args.quick else (500, 10_000)

    peers_python = ensure_peers()
    from golemsim import build_template

    wasm = build_template(TESTKIT).wasm_path
    commands = {system: driver_command(system, peers_python, wasm) for system in SYSTEMS}
    work: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
    crash: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
    extras: list[dict[str, Any]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="golemsim-peers-") as tmp:
        for r in range(rounds):
            for system in SYSTEMS:
                folder = Path(tmp) / f"{system}-{r}"
                folder.mkdir()
                log(f"round {r + 1}/{rounds}: {system} ...")
                argv = commands[system]("work", folder / "work.db", [str(seq), str(per_thread), str(threads)])
                work[system].append(run_json(argv, folder))
                crash[system].append(crash_and_recover(commands[system], folder))
            folder = Path(tmp) / f"extras-{r}"
            folder.mkdir()
            argv = commands["golemsim"]("extras", folder / "replay.db", [str(bare_calls), str(replay_entries)])
            extras.append(run_json(argv, folder))
    elapsed = time.perf_counter() - started
    print(render(work, crash, extras, rounds, seq, per_thread, threads, elapsed, peers_python))


def peer_versions(peers_python: Path) -> str:
    code = (
        "from importlib import metadata as m; print(' '.join(p + ' ' + m.version(p) for p in ('dbos', 'SQLAlchemy')))"
    )
    out = subprocess.run([str(peers_python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    sqlite = subprocess.run(
        [str(peers_python), "-c", "import sqlite3; print(sqlite3.sqlite_version)"], capture_output=True, text=True
    ).stdout.strip()
    return f"{out}, SQLite {sqlite}"


def render(
    work: dict[str, list[dict[str, Any]]],
    crash: dict[str, list[dict[str, Any]]],
    extras: list[dict[str, Any]],
    rounds: int,
    seq: int,
    per_thread: int,
    threads: int,
    elapsed: float,
    peers_python: Path,
) -> str:
    def w(system: str, key: str) -> float:
        return median([run[key] for run in work[system]])

    def c(system: str, key: str) -> float:
        return median([run[key] for run in crash[system]])

    def runs(system: str) -> str:
        seen = {f"{run['runs']['one']}/{run['runs']['two']}/{run['runs']['three']}" for run in crash[system]}
        return ", ".join(sorted(seen))

    rows: list[tuple[str, dict[str, float | str], bool | None]] = []  # (measure, value per system, lower is better)
    rows.append(("3-step p50 latency, sequential (ms)", {s: w(s, "p50_ms") for s in SYSTEMS}, True))
    rows.append(("3-step p99 latency, sequential (ms)", {s: w(s, "p99_ms") for s in SYSTEMS}, True))
    rows.append(("3-step throughput, sequential (workflows/s)", {s: w(s, "seq_per_s") for s in SYSTEMS}, False))
    concurrent = f"3-step throughput, {threads} concurrent (workflows/s)"
    rows.append((concurrent, {s: w(s, "conc_per_s") for s in SYSTEMS}, False))
    spawn = {s: c(s, "spawn_to_done_s") * 1e3 for s in SYSTEMS}
    rows.append(("crash recovery: process start → workflow done (ms)", spawn, True))
    launch = {s: c(s, "launch_to_done_s") * 1e3 for s in SYSTEMS}
    rows.append(("crash recovery: open/launch → workflow done (ms)", launch, True))
    rows.append(("runs of step 1 / 2 / 3 after kill in step 2", {s: runs(s) for s in SYSTEMS}, None))
    bare = median([e["bare_p50_ms"] for e in extras])
    durable = w("golemsim", "p50_ms")
    rows.append(
        (
            "durability overhead: durable p50 / bare wasmtime p50",
            {"golemsim": f"{durable / bare:.1f}x ({fmt(durable, 2)} / {fmt(bare, 3)} ms)"},
            None,
        )
    )
    rows.append(
        (
            f"replay speed ({extras[0]['replay_entries']:,}-entry worker), entries/s",
            {"golemsim": f"{median([e['replay_entries_per_s'] for e in extras]):,.0f}"},
            None,
        )
    )
    modes = {s: "/".join(sorted({str(run["settings"].get("journal_mode")) for run in work[s]})) for s in SYSTEMS}
    sync = {s: "/".join(sorted({str(run["settings"].get("synchronous")) for run in work[s]})) for s in SYSTEMS}
    header = [
        "measure",
        *(LABELS[s] for s in SYSTEMS),
        "golemsim / DBOS default",
        "golemsim / DBOS WAL",
    ]
    lines = [
        f"golemsim vs DBOS Transact — median of {rounds} alternating rounds; {seq} sequential workflows, "
        f"{threads} threads x {per_thread} concurrent; {elapsed:.0f} s",
        f"{platform.machine()}, Python {platform.python_version()}, golemsim {metadata.version('golemsim')}, "
        f"wasmtime-py {metadata.version('wasmtime')}; {peer_versions(peers_python)}",
        "journal_mode (checked with PRAGMA after launch): "
        + ", ".join(f"{s} {modes[s]} (synchronous={sync[s]})" for s in SYSTEMS),
        "",
        "| " + " | ".join(header) + " |",
        "| --- | " + " | ".join("---:" for _ in header[1:]) + " |",
    ]
    for measure, values, lower_better in rows:
        cells = []
        for s in SYSTEMS:
            v = values.get(s, "—")
            cells.append(fmt(v, 2 if v < 100 else 0) if isinstance(v, float) else str(v))
        for peer in ("dbos-default", "dbos-wal"):
            mine, theirs = values.get("golemsim"), values.get(peer)
            if isinstance(mine, float) and isinstance(theirs, float) and theirs:
                better = (mine < theirs) if lower_better else (mine > theirs)
                cells.append(f"{mine / theirs:.2f}x{'' if better else ' (golemsim loses)'}")
            else:
                cells.append("")
        lines.append(f"| {measure} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
