"""The crash demo: SIGKILL a real executor process again and again, and check that nothing was lost.

The parent deploys the counter template; a child process runs ``counter/demo``
``increment(1)`` N times, each with its own idempotency key, printing an acknowledgement
after each. After a random number of acknowledgements the parent kills it with SIGKILL a
random fraction of a millisecond later (all drawn from a seed), starts it again on the same
database, and carries on from the last acknowledged key. At the end every acknowledged
invocation must have seen exactly the total a crash-free run would give, and the counter must
equal N: nothing lost, nothing twice.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .core import Executor, WorkerId
from .core.oplog import InvocationCompleted

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
WORKER = WorkerId("counter", "demo")


@dataclass
class CrashReport:
    """What the demo did and whether the run was valid."""

    invocations: int
    seed: int
    kills: int = 0
    runs: int = 0
    final_total: int = 0
    oplog_entries: int = 0
    wall_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def text(self) -> str:
        verdict = "VALID: nothing lost, nothing done twice" if self.valid else "INVALID"
        rows = [
            ("invocations acknowledged", self.invocations),
            ("SIGKILLs", self.kills),
            ("executor processes started", self.runs),
            ("final counter total", self.final_total),
            ("oplog entries", self.oplog_entries),
            ("wall time (s)", f"{self.wall_seconds:.1f}"),
        ]
        lines = ["# golemsim crash demo", "", "| measure | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        lines += ["", f"**{verdict}**"] + [f"- {p}" for p in self.problems]
        return "\n".join(lines)


def run_crash_demo(out: Path, *, invocations: int = 100, seed: int = 1, max_kills: int = 15) -> CrashReport:
    """Run the demo in ``out`` (database and report land there) and return the report."""
    out.mkdir(parents=True, exist_ok=True)
    db = out / "golem.db"
    for stale in out.glob("golem.db*"):
        stale.unlink()
    rng = random.Random(seed)
    report = CrashReport(invocations, seed)
    with Executor.open(db) as ex:  # build, deploy and compile once, so kills land among invocations
        ex.deploy(TEMPLATES / "counter")
    acked: dict[int, int] = {}
    started = time.monotonic()
    while len(acked) < invocations:
        first = max(acked, default=0) + 1
        if first > invocations:
            missing = sorted(set(range(1, invocations + 1)) - set(acked))
            report.problems.append(f"invocations never acknowledged: {missing[:10]}")
            break
        print(f"run {report.runs + 1}: invoking keys {first}..{invocations}", file=sys.stderr, flush=True)
        child = subprocess.Popen(
            [sys.executable, "-m", "golemsim.demo", str(db), str(first), str(invocations)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        report.runs += 1
        assert child.stdout is not None
        kill = report.kills < max_kills
        seen = ""
        if kill:
            # Let the child acknowledge a random number of invocations, then kill it a random
            # fraction of a millisecond later, so the kill lands anywhere in an invocation.
            for _ in range(rng.randint(1, max(1, 2 * invocations // max_kills))):
                line = child.stdout.readline()
                seen += line
                if not line:
                    break
            time.sleep(rng.uniform(0.0, 0.002))
            child.send_signal(signal.SIGKILL)
            report.kills += 1
            # Read the rest through the same buffered reader: communicate() would skip lines
            # that readline() has already buffered.
            output, errors = seen + child.stdout.read(), ""
            child.wait()
        else:
            output, errors = child.communicate(timeout=600)
        if not kill and child.returncode != 0:
            report.problems.append(f"executor process failed: {errors.strip()[-500:]}")
            break
        for line in output.splitlines():
            _, index, total = line.split()
            acked[int(index)] = int(total)
    report.wall_seconds = time.monotonic() - started
    wrong = {i: t for i, t in acked.items() if t != i}
    if wrong:
        report.problems.append(f"acknowledged totals differ from a crash-free run: {dict(list(wrong.items())[:5])}")
    with Executor.open(db) as ex:
        report.final_total = ex.invoke(WORKER.template, WORKER.name, "get", [])
        entries = ex.oplog(WORKER)
    report.oplog_entries = len(entries)
    completions = Counter(e.idempotency_key for _, e in entries if isinstance(e, InvocationCompleted))
    twice = sorted(key for key, count in completions.items() if count > 1)
    if twice:
        report.problems.append(f"invocations completed more than once: {twice[:5]}")
    if report.final_total != invocations:
        report.problems.append(f"counter is {report.final_total}, expected {invocations}")
    (out / "report.md").write_text(report.text() + "\n")
    (out / "report.json").write_text(json.dumps({**asdict(report), "valid": report.valid}, indent=2) + "\n")
    return report


def _child(db: str, first: int, last: int) -> None:
    with Executor.open(db) as ex:
        for index in range(first, last + 1):
            total = ex.invoke(WORKER.template, WORKER.name, "increment", [1], idempotency_key=f"demo-{index}")
            print(f"ack {index} {total}", flush=True)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
