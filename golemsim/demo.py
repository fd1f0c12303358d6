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
from .locations import templates_dir

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
    acks: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the start, invocation index) of each acknowledgement, as the parent saw it."""
    kill_times: list[float] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def recovery_seconds(self) -> list[float]:
        """For each kill followed by more work, the time until the next acknowledgement
        (process restart, recovery by replay, and the next invocation)."""
        gaps = []
        for killed_at in self.kill_times:
            after = [t for t, _ in self.acks if t > killed_at]
            if after:
                gaps.append(min(after) - killed_at)
        return gaps

    def text(self) -> str:
        verdict = "VALID: nothing lost, nothing done twice" if self.valid else "INVALID"
        gaps = sorted(self.recovery_seconds)
        median_gap = f"{gaps[len(gaps) // 2] * 1e3:.0f}" if gaps else "-"
        rows = [
            ("invocations acknowledged", len({i for _, i in self.acks})),
            ("SIGKILLs", self.kills),
            ("executor processes started", self.runs),
            ("final counter total", self.final_total),
            ("oplog entries", self.oplog_entries),
            ("median time from a kill to the next result (ms)", median_gap),
            ("wall time (s)", f"{self.wall_seconds:.1f}"),
        ]
        lines = ["# golemsim crash demo", "", "| measure | value |", "| --- | --- |"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        lines += ["", f"**{verdict}**"] + [f"- {p}" for p in self.problems]
        return "\n".join(lines)


def run_crash_demo(out: Path, *, invocations: int = 100, seed: int = 1, max_kills: int = 15) -> CrashReport:
    """Run the demo in ``out`` (database, report and plot land there) and return the report."""
    out.mkdir(parents=True, exist_ok=True)
    db = out / "golem.db"
    for stale in out.glob("golem.db*"):
        stale.unlink()
    rng = random.Random(seed)
    report = CrashReport(invocations, seed)
    with Executor.open(db) as ex:  # build, deploy and compile once, so kills land among invocations
        ex.deploy(templates_dir() / "counter")
    acked: dict[int, int] = {}
    started = time.monotonic()
    while len(acked) < invocations:
        first = max(acked, default=0) + 1
        if first > invocations:
            missing = sorted(set(range(1, invocations + 1)) - set(acked))
            report.problems.append(f"invocations never acknowledged: {missing[:10]}")
            break
        print(f"run {report.runs + 1}: invoking keys {first}..{invocations}", file=sys.stderr, flush=True)
        # Let a child acknowledge a random number of invocations, then kill it a random
        # fraction of a millisecond later, so the kill lands anywhere in an invocation.
        kill_after = rng.randint(1, max(1, 2 * invocations // max_kills)) if report.kills < max_kills else None
        lines, error = _run_child(db, first, invocations, kill_after, rng.uniform(0.0, 0.002), started, report)
        if error:
            report.problems.append(f"executor process failed: {error}")
            break
        for seen_at, line in lines:
            _, index, total = line.split()
            acked[int(index)] = int(total)
            report.acks.append((seen_at, int(index)))
    report.wall_seconds = time.monotonic() - started
    _check(report, db, acked)
    (out / "report.md").write_text(report.text() + "\n")
    summary = {**asdict(report), "valid": report.valid, "recovery_seconds": report.recovery_seconds}
    (out / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_timeline(report, out / "timeline.png")
    return report


def _run_child(
    db: Path, first: int, last: int, kill_after: int | None, delay: float, started: float, report: CrashReport
) -> tuple[list[tuple[float, str]], str | None]:
    """Run one executor process; kill it after ``kill_after`` acknowledgements (None: let it finish).

    Returns the acknowledgement lines with the time each was seen, and an error text if the
    process failed on its own.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", "golemsim.demo", str(db), str(first), str(last)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    report.runs += 1
    assert child.stdout is not None
    if kill_after is None:
        output, errors = child.communicate(timeout=600)
        now = time.monotonic() - started
        if child.returncode != 0:
            return [], errors.strip()[-500:]
        return [(now, line) for line in output.splitlines()], None
    lines: list[tuple[float, str]] = []
    for _ in range(kill_after):
        line = child.stdout.readline()
        if not line:
            break
        lines.append((time.monotonic() - started, line))
    time.sleep(delay)
    killed_at = time.monotonic() - started
    if child.poll() is None:  # still running (it may have finished its invocations already)
        child.send_signal(signal.SIGKILL)
        report.kills += 1
        report.kill_times.append(killed_at)
    # The rest was written before the kill; read it through the same buffered reader
    # (communicate() would skip lines that readline() has already buffered).
    lines += [(killed_at, line) for line in child.stdout.read().splitlines()]
    child.wait()
    return lines, None


def _check(report: CrashReport, db: Path, acked: dict[int, int]) -> None:
    """The checker: acknowledged totals, the final state and the oplog against a crash-free run."""
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
    if report.final_total != report.invocations:
        report.problems.append(f"counter is {report.final_total}, expected {report.invocations}")


def plot_timeline(report: CrashReport, path: Path) -> Path | None:
    """Acknowledged invocations over time, each SIGKILL a red line (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no timeline plot", file=sys.stderr)
        return None
    figure, axes = plt.subplots(figsize=(9, 4))
    times = [t for t, _ in report.acks]
    axes.step(times, [i for _, i in report.acks], where="post", color="tab:blue", label="last acknowledged invocation")
    for n, killed_at in enumerate(report.kill_times):
        axes.axvline(killed_at, color="tab:red", linestyle="--", linewidth=0.8, label="SIGKILL" if n == 0 else None)
    axes.set_xlabel("seconds")
    axes.set_ylabel("invocation")
    verdict = "valid" if report.valid else "INVALID"
    axes.set_title(f"counter/demo under {report.kills} SIGKILLs: {verdict}")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _child(db: str, first: int, last: int) -> None:
    with Executor.open(db) as ex:
        for index in range(first, last + 1):
            total = ex.invoke(WORKER.template, WORKER.name, "increment", [1], idempotency_key=f"demo-{index}")
            print(f"ack {index} {total}", flush=True)


if __name__ == "__main__":
    _child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
