"""Scale-out: golemsim over HTTP on SQLite and on 1, 2, 4 processes sharing PostgreSQL, beside DBOS on PostgreSQL.

    .venv/bin/python bench/bench_scaleout.py [--seconds S] [--rounds N] [--clients 16] [--profile]

One run, one table. It starts one throwaway PostgreSQL server (fsync on; Debian's postgresql
package) and, in every round, runs each configuration on a fresh database, the configurations
alternating (their order rotates from round to round):

- ``sqlite``: one ``golemsim serve --db <file>`` (SQLite WAL, fsync);
- ``pg-N`` for N in --processes (default 1,2,4): N ``golemsim serve --db postgresql://...``
  processes on the same database; clients spread their requests round-robin over the N ports,
  so most requests reach a process that does not own the worker's shard and are forwarded by
  golemsim itself;
- ``dbos-pg``: DBOS Transact (bench/.venv-peers, as bench_peers.py sets it up) with its system
  database on the same server, --clients threads calling a 3-step workflow directly (no HTTP).

golemsim's work is testkit's ``three-steps`` (three durable external calls to an in-process
no-op service, bench/peers/noop_services.py) behind the route of bench/peers/scaleout.api.yaml,
``POST /three-steps/{worker}`` with an Idempotency-Key per request. --clients threads (this
process, http.client, one connection per thread and port) each own --workers/--clients workers
and call them in turn, closed loop, for a warm-up and then --seconds measured. A no-op HTTP
server (same stdlib server class as ``golemsim serve``) measured once first gives the clients'
ceiling. Reported per configuration: median over rounds of inv/s, p50 and p99 latency (ms),
CPU cores busy (golemsim processes, PostgreSQL, the client process) during the run; ratios to
pg-1 and to dbos-pg. Results go to bench/results/scaleout.json (not committed).

--profile: afterwards, one extra pg-2 run (sqlite if pg-2 does not run) with py-spy recording
the first serve process over the measured window (all threads, idle ones too), printing the
top leaf frames and where the samples fall: in wasmtime, waiting on the database, on locks,
on fsync, on sockets, or other Python. py-spy is in golemsim's dev dependencies
(``.venv/bin/pip install py-spy`` otherwise).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
PEERS = BENCH / "peers"
API = PEERS / "scaleout.api.yaml"
TESTKIT = BENCH.parent / "tests" / "templates" / "testkit"
RESULTS = BENCH / "results" / "scaleout.json"
sys.path.insert(0, str(PEERS))

from closed_loop import closed_loop  # noqa: E402  (bench/peers/)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NOOP_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "1")
        self.end_headers()
        self.wfile.write(b"3")
    def log_message(self, *args):
        pass
class S(ThreadingHTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(f"http://127.0.0.1:{s.server_address[1]}", flush=True)
s.serve_forever()
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- processes and CPU


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of these processes so far (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                found.append(int(entry.name))
    return found


def postgres_pids(pg: Any) -> list[int]:
    """The postmaster and its backends (new backends appear as clients connect: call it late)."""
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    return [postmaster, *children_of(postmaster)]


def self_cpu() -> float:
    times = os.times()
    return times.user + times.system


class Servers:
    """N ``golemsim serve --port 0`` processes (or any command printing its URL); stop() ends them."""

    def __init__(self, commands: list[list[str]], folder: Path, env: dict[str, str], timeout: float = 180) -> None:
        self.logs = [folder / f"serve-{i}.log" for i in range(len(commands))]
        self.processes = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log_path.open("w"), text=True, env=env, cwd=folder)
            for command, log_path in zip(commands, self.logs, strict=True)
        ]
        self.ports: list[int] = []
        try:
            for process, log_path in zip(self.processes, self.logs, strict=True):
                self.ports.append(self._read_port(process, log_path, timeout))
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _read_port(process: subprocess.Popen[str], log_path: Path, timeout: float) -> int:
        line: list[str] = []
        assert process.stdout is not None
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if not line or not line[0].startswith("http://"):
            tail = log_path.read_text(errors="replace")[-1500:] if log_path.exists() else ""
            raise RuntimeError(f"the server did not print its URL (exit {process.poll()}):\n{tail}")
        return urlsplit(line[0].strip()).port or 80

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---------------------------------------------------------------- the HTTP clients


def http_load(ports: list[int], clients: int, workers: int, warmup: float, seconds: float) -> dict[str, Any]:
    """--clients threads, each with one connection per port, round-robin over the ports; thread t
    owns workers t, t + clients, ... and invokes them in turn. A non-200 answer is an error."""
    per_thread = max(1, workers // clients)
    run_id = uuid.uuid4().hex[:8]
    local = threading.local()
    first_error: list[str] = []
    retries = [0] * clients

    def call(t: int, i: int) -> bool:
        connections: dict[int, http.client.HTTPConnection] = getattr(local, "connections", None) or {}
        local.connections = connections
        port = ports[(t + i) % len(ports)]
        conn = connections.get(port)
        if conn is None:
            conn = connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        worker = f"w{t + clients * (i % per_thread)}"
        body = json.dumps({"tag": f"{t}-{i}"}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": f"{run_id}-{t}-{i}"}
        for attempt in range(3):  # a connection refused or reset is retried: the Idempotency-Key makes it safe
            try:
                conn.request("POST", f"/three-steps/{worker}", body, headers)
                response = conn.getresponse()
                text = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                retries[t] += 1
                if attempt == 2:
                    if not first_error:
                        first_error.append(f"{error.__class__.__name__}: {error}")
                    return False
        if response.status != 200 and not first_error:
            first_error.append(f"{response.status}: {text[:300]!r}")
        return response.status == 200

    result = closed_loop(call, clients, warmup, seconds, prime=per_thread)
    result["connection_retries"] = sum(retries)  # warm-up included
    if first_error:
        result["first_error"] = first_error[0]
    return result


# ---------------------------------------------------------------- one configuration


def run_golemsim(
    label: str,
    db: str,
    processes: int,
    wasm: Path,
    folder: Path,
    args: argparse.Namespace,
    pg: Any,
    profile: Path | None = None,
) -> dict[str, Any]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PEERS), env.get("PYTHONPATH")]))
    cli = [sys.executable, "-m", "golemsim"]
    deployed = subprocess.run(
        [*cli, "deploy", "--db", db, str(wasm), "--name", "testkit"],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
    )
    if deployed.returncode != 0:
        raise RuntimeError(f"deploy failed: {(deployed.stderr or deployed.stdout).strip()[-1500:]}")
    serve = [*cli, "serve", "--db", db, "--api", str(API), "--port", "0"]
    servers = Servers([serve] * processes, folder, env)
    spies: list[subprocess.Popen[str]] = []
    try:
        if profile is not None:  # records the first process from the end of the warm-up to the end
            spies = start_spy(servers.pids[0], profile, args.warmup, args.seconds)
        pg_before = cpu_seconds(postgres_pids(pg)) if pg is not None and db.startswith("postgres") else 0.0
        golem_before, clients_before, wall = cpu_seconds(servers.pids), self_cpu(), time.perf_counter()
        result = http_load(servers.ports, args.clients, args.workers, args.warmup, args.seconds)
        wall = time.perf_counter() - wall
        result["cores_golemsim"] = (cpu_seconds(servers.pids) - golem_before) / wall
        result["cores_clients"] = (self_cpu() - clients_before) / wall
        if pg is not None and db.startswith("postgres"):  # backends started during the run count from 0
            result["cores_postgres"] = (cpu_seconds(postgres_pids(pg)) - pg_before) / wall
        for spy in spies:
            _, err = spy.communicate(timeout=args.seconds + 60)
            if spy.returncode != 0:
                log(f"py-spy failed: {err.strip()[-500:]}")
    finally:
        servers.stop()
    result.update(config=label, processes=processes)
    return result


def run_dbos(url: str, peers_python: Path, args: argparse.Namespace, pg: Any) -> dict[str, Any]:
    argv = [str(peers_python), str(PEERS / "dbos_scaleout.py"), url, str(args.clients), str(args.warmup)]
    child = subprocess.Popen([*argv, str(args.seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # CPU over the window only: sample after DBOS's launch has had time to connect (approximate)
    time.sleep(min(args.warmup, 2.0))
    pids = postgres_pids(pg)
    pg_before, dbos_before, wall = cpu_seconds(pids), cpu_seconds([child.pid]), time.perf_counter()
    time.sleep(max(0.0, args.warmup - 2.0) + args.seconds * 0.9)
    wall_done = time.perf_counter() - wall
    pg_cores = cpu_seconds(postgres_pids(pg)) - pg_before  # a backend started in the window counts whole
    dbos_cores = (cpu_seconds([child.pid]) - dbos_before) / wall_done
    out, err = child.communicate(timeout=args.warmup + args.seconds + 300)
    if child.returncode != 0:
        raise RuntimeError(f"dbos_scaleout.py failed:\n{err[-2000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result.update(config="dbos-pg", processes=1, cores_golemsim=dbos_cores, cores_postgres=pg_cores / wall_done)
    return result


def run_noop(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    servers = Servers([[sys.executable, "-c", NOOP_SERVER]], folder, dict(os.environ))
    try:
        before, clients_before, wall = cpu_seconds(servers.pids), self_cpu(), time.perf_counter()
        result = http_load(servers.ports, args.clients, args.workers, min(args.warmup, 1.0), min(args.seconds, 5.0))
        wall = time.perf_counter() - wall
        result.update(
            config="no-op HTTP server",
            processes=1,
            cores_golemsim=(cpu_seconds(servers.pids) - before) / wall,
            cores_clients=(self_cpu() - clients_before) / wall,
        )
    finally:
        servers.stop()
    return result


# ---------------------------------------------------------------- profile


SPY_RATE = 100  # samples a second; py-spy --nonblocking reads the process's memory without stopping it


def start_spy(pid: int, folder: Path, warmup: float, seconds: float) -> list[subprocess.Popen[str]]:
    """Two py-spy samplers of ``pid`` over the measured window: every thread, idle ones too
    (``idle.txt``: where threads wait), and only the thread holding the GIL (``gil.txt``)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    # start at the end of the warm-up (the load starts right after this returns)
    delay = f"import time, os, sys; time.sleep({warmup + 0.3}); os.execv(sys.argv[1], sys.argv[1:])"
    spies = []
    for name, flag in (("idle", "--idle"), ("gil", "--gil")):
        command = [str(spy), "record", "--pid", str(pid), flag, "--format", "raw", "--rate", str(SPY_RATE)]
        command += ["--duration", str(max(1, int(seconds - 0.5))), "--output", str(folder / f"{name}.txt")]
        command.append("--nonblocking")
        spies.append(
            subprocess.Popen(
                [sys.executable, "-c", delay, *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
            )
        )
    return spies


def classify(frames: list[str]) -> str:
    """Where one sample is, from its leaf frame and the innermost frame of golemsim's own code."""
    leaf, own = frames[-1], innermost_golemsim(frames)
    if "fsync" in leaf:
        return "fsync"
    if "wasmtime" in leaf or "fast_calls" in leaf:
        return "in wasmtime (guest code, wasmtime-py FFI)"
    if any(word in own or word in leaf for word in ("oplog", "postgres", "sql_connection", "psycopg", "sqlite")):
        return "oplog store: database round trips, commits, waits for a group commit"
    if "RealEnvironment.wait" in own:
        return "HTTP handler threads waiting for their invocation's result"
    if "socket" in leaf or "selectors" in leaf:
        return "HTTP: accept, read the request, write the reply"
    if "threading.py" in leaf or "queue.py" in leaf:
        return "other lock and condition waits"
    return "other Python"


def read_raw(raw: Path) -> list[tuple[list[str], int]]:
    """py-spy's raw format: one line per distinct stack, ``frame;frame;... count`` (outermost first)."""
    stacks = []
    for line in raw.read_text(errors="replace").splitlines() if raw.exists() else []:
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def innermost_golemsim(frames: list[str]) -> str:
    """The innermost frame in golemsim's own code: which of its operations the sample is in."""
    for frame in reversed(frames):
        if "golemsim/" in frame:
            return frame
    return frames[-1]


def summarize_profile(folder: Path, seconds: float, top: int = 10) -> list[str]:
    lines: list[str] = []
    gil = read_raw(folder / "gil.txt")
    held = sum(n for _, n in gil)
    window = SPY_RATE * max(1, int(seconds - 0.5))
    lines.append(
        f"GIL held in {held:,} of ~{window:,} sample instants ({100 * held / window:.0f}% of the window; "
        "near 100% means the process is bound by its GIL). Where the GIL holder is:"
    )
    by_category: Counter[str] = Counter()
    by_site: Counter[str] = Counter()
    for frames, n in gil:
        by_category[classify(frames)] += n
        by_site[f"{innermost_golemsim(frames)}  <  {frames[-1]}"] += n
    lines += [f"  {100 * n / max(held, 1):5.1f}%  {name}" for name, n in by_category.most_common()]
    lines += [f"  {100 * n / max(held, 1):5.1f}%  {site[:150]}" for site, n in by_site.most_common(top)]
    idle = read_raw(folder / "idle.txt")
    total = sum(n for _, n in idle)
    lines.append(f"all threads, idle included ({total:,} thread samples): where they are")
    by_category.clear()
    by_site.clear()
    for frames, n in idle:
        by_category[classify(frames)] += n
        by_site[f"{innermost_golemsim(frames)}  <  {frames[-1]}"] += n
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {name}" for name, n in by_category.most_common()]
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {site[:150]}" for site, n in by_site.most_common(top)]
    return lines


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per run (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of alternating runs (default 3)")
    parser.add_argument("--clients", type=int, default=16, help="client threads (default 16)")
    parser.add_argument("--workers", type=int, default=64, help="workers the clients spread over (default 64)")
    parser.add_argument("--processes", default="1,2,4", help="golemsim processes on PostgreSQL (default 1,2,4)")
    parser.add_argument("--no-dbos", action="store_true", help="leave DBOS out")
    parser.add_argument("--profile", action="store_true", help="then profile one pg-2 serve process with py-spy")
    args = parser.parse_args()

    from bench_peers import ensure_peers

    from golemsim import build_template
    from golemsim.throwaway_postgres import ThrowawayPostgres

    peers_python = None if args.no_dbos else ensure_peers()
    wasm = build_template(TESTKIT).wasm_path
    configs = ["sqlite", *(f"pg-{n}" for n in args.processes.split(","))]
    if not args.no_dbos:
        configs.append("dbos-pg")
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    failed: dict[str, str] = {}
    started = time.perf_counter()
    profile_lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="golemsim-scaleout-") as tmp, ThrowawayPostgres(fsync=True) as pg:
        root = Path(tmp)
        (root / "noop").mkdir()
        log("no-op HTTP server (the clients' ceiling) ...")
        noop = run_noop(args, root / "noop")
        for r in range(args.rounds):
            order = configs[r % len(configs) :] + configs[: r % len(configs)]
            for config in order:
                if config in failed:
                    continue
                folder = root / f"{config}-{r}"
                folder.mkdir()
                log(f"round {r + 1}/{args.rounds}: {config} ...")
                try:
                    runs[config].append(run_config(config, r, folder, wasm, peers_python, args, pg))
                except Exception as error:  # a configuration that cannot run is reported, the others go on
                    failed[config] = str(error).strip().splitlines()[-1][:200] if str(error).strip() else repr(error)
                    log(f"  {config} failed: {error}")
                    continue
                last = runs[config][-1]
                log(f"  {last['per_s']:.0f}/s p50 {last['p50_ms']:.1f} ms, errors {last['errors']}")
        if args.profile:
            target = "pg-2" if runs.get("pg-2") else "sqlite"
            folder = root / "profile"
            folder.mkdir()
            log(f"profile: {target} under py-spy ...")
            processes = int(target.split("-")[1]) if target.startswith("pg-") else 1
            db = pg.create_database("profile") if target.startswith("pg-") else str(folder / "golem.db")
            result = run_golemsim(target, db, processes, wasm, folder, args, pg, profile=folder)
            profile_lines = [
                f"profile of {target} (first serve process; {result['per_s']:.0f}/s, p50 {result['p50_ms']:.1f} ms "
                f"under py-spy at {SPY_RATE} Hz, golemsim processes {result['cores_golemsim']:.2f} cores, "
                f"PostgreSQL {result.get('cores_postgres', 0):.2f}):",
                *summarize_profile(folder, args.seconds),
            ]
    elapsed = time.perf_counter() - started
    text = render(configs, runs, failed, noop, args, elapsed, peers_python)
    print(text)
    if profile_lines:
        print("\n" + "\n".join(profile_lines))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"args": vars(args), "noop": noop, "runs": runs, "failed": failed, "profile": profile_lines}, indent=1
        )
    )
    log(f"written {RESULTS.relative_to(BENCH.parent)}")


def run_config(
    config: str, r: int, folder: Path, wasm: Path, peers_python: Path | None, args: argparse.Namespace, pg: Any
) -> dict[str, Any]:
    name = f"{config.replace('-', '_')}_r{r}"
    if config == "sqlite":
        return run_golemsim(config, str(folder / "golem.db"), 1, wasm, folder, args, pg)
    if config == "dbos-pg":
        assert peers_python is not None
        return run_dbos(pg.create_database(name), peers_python, args, pg)
    return run_golemsim(config, pg.create_database(name), int(config.split("-")[1]), wasm, folder, args, pg)


LABELS = {"sqlite": "golemsim, SQLite (WAL, fsync)", "dbos-pg": "DBOS, PostgreSQL (no HTTP)"}


def render(
    configs: list[str],
    runs: dict[str, list[dict[str, Any]]],
    failed: dict[str, str],
    noop: dict[str, Any],
    args: argparse.Namespace,
    elapsed: float,
    peers_python: Path | None,
) -> str:
    def med(config: str, key: str) -> float:
        values = [run[key] for run in runs[config] if key in run]
        return statistics.median(values) if values else float("nan")

    base = med("pg-1", "per_s") if runs.get("pg-1") else float("nan")
    dbos = med("dbos-pg", "per_s") if runs.get("dbos-pg") else float("nan")
    header = [  # errors: failed requests in the measured windows, all rounds
        "config",
        "processes",
        "inv/s",
        "p50 ms",
        "p99 ms",
        "/ pg-1",
        "/ DBOS-pg",
        "CPU cores: system / PostgreSQL / clients",
        "errors",
    ]
    lines = [
        f"3-step durable invocations, {args.clients} clients closed-loop over {args.workers} workers; "
        f"median of {args.rounds} alternating rounds of {args.warmup:g} s warm-up + {args.seconds:g} s; "
        f"{elapsed:.0f} s",
        f"{platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}, "
        f"golemsim {metadata.version('golemsim')}, wasmtime-py {metadata.version('wasmtime')}"
        + (f"; {dbos_version(peers_python)}" if peers_python else ""),
        "",
        "| " + " | ".join(header) + " |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    cores = f"{noop['cores_golemsim']:.2f} / — / {noop['cores_clients']:.2f}"
    lines.append(
        f"| no-op HTTP server (client ceiling) | 1 | {noop['per_s']:,.0f} | {noop['p50_ms']:.2f} | "
        f"{noop['p99_ms']:.2f} | | | {cores} | {noop['errors']} |"
    )
    for config in configs:
        label = LABELS.get(config, f"golemsim, PostgreSQL, {config[3:]} process(es)")
        if not runs[config]:
            lines.append(f"| {label} | | not run: {failed.get(config, '?')} | | | | | | |")
            continue
        per_s = med(config, "per_s")
        ratio_base = f"{per_s / base:.2f}x" if base == base else "—"
        ratio_dbos = f"{per_s / dbos:.2f}x" if dbos == dbos else "—"
        cells = [
            f"{med(config, k):.2f}" if k in runs[config][0] else "—"
            for k in ("cores_golemsim", "cores_postgres", "cores_clients")
        ]
        errors = sum(run["errors"] for run in runs[config])
        processes = runs[config][0]["processes"]
        note = f" ({len(runs[config])} rounds; failed after: {failed[config]})" if config in failed else ""
        lines.append(
            f"| {label}{note} | {processes} | {per_s:,.0f} | {med(config, 'p50_ms'):.1f} | "
            f"{med(config, 'p99_ms'):.1f} | "
            f"{ratio_base} | {ratio_dbos} | {' / '.join(cells)} | {errors} |"
        )
    retried = {c: sum(run.get("connection_retries", 0) for run in runs[c]) for c in configs if runs[c]}
    lines.append(
        "connections refused or reset and retried (all rounds, warm-up included): "
        + ", ".join(f"{c} {n}" for c, n in retried.items() if c != "dbos-pg")
        + f", no-op server {noop.get('connection_retries', 0)}"
    )
    first_errors = {c: run["first_error"] for c in configs for run in runs[c] if "first_error" in run}
    lines += [f"first error of {c}: {e}" for c, e in first_errors.items()]
    if runs.get("dbos-pg"):
        lines.append(f"DBOS settings: {runs['dbos-pg'][0].get('settings')}")
    return "\n".join(lines)


def dbos_version(peers_python: Path) -> str:
    code = "from importlib import metadata as m; print('dbos ' + m.version('dbos'), 'psycopg ' + m.version('psycopg'))"
    return subprocess.run([str(peers_python), "-c", code], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
