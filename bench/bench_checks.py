"""The time after a simulated run (each sampled worker's final state read through the cluster,
then the checks) and the oplog reads, before and after issue 16's read-once changes, side by
side in one run.

    .venv/bin/python bench/bench_checks.py            # checkout-crash and bank-transfers, memory and SQLite, 3 rounds
    .venv/bin/python bench/bench_checks.py --quick    # one round, memory store only
    .venv/bin/python bench/bench_checks.py --rounds 5 --store sqlite

Each row is one whole run of the experiment's durable workers (``run_experiment``, variant
"workers"; the templates are compiled once beforehand). "before" is the same code with the
read-once parts switched off from here: every checker reads, decodes and digests the oplogs for
itself (no CommittedOplogs shared by the checks and the invariants), and the stores decode every
entry on every read. "after" is the code as it is. The two styles alternate within each round
(before then after, then after then before), so the noise of a shared machine falls on both; each
figure is the median over the rounds. Both styles must give the same trace digest and the same
verdicts: the bench says so, or stops.

Columns: wall (the whole run_experiment), run (everything but the three phases after it:
building the cluster, the load, the faults, settling), final states, checks (the five
checkers), invariants (the experiment's own), oplog reads (time inside the store's read and
read_archived, in every phase) and decodes (entries decoded and checksum-verified). Each time is
wall seconds with the process's CPU seconds in brackets: on a machine shared with other work
the CPU figure moves less.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from golemsim.core.oplog import entries, memory_store
from golemsim.core.oplog.decoded import DecodedEntries
from golemsim.core.oplog.entries import OplogEntry
from golemsim.core.oplog.memory_store import MemoryOplogStore
from golemsim.core.oplog.sqlite_store import SQLiteOplogStore
from golemsim.core.templates import TemplateRegistry
from golemsim.sim import runner
from golemsim.sim.experiment import Experiment, load_experiment

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
NAMES = ("checkout-crash", "bank-transfers")
COLUMNS = ("wall", "run", "final_states", "checks", "invariants", "reads")


class Meter:
    """Seconds spent in the timed functions (wall, and CPU of the whole process), and entries
    decoded, during one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(COLUMNS, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(COLUMNS, 0.0)
        self.decodes = 0

    def timed(self, column: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[column] += time.perf_counter() - started
                self.cpu[column] += time.process_time() - cpu

        return timed_call

    def counted(self, function: Callable[..., OplogEntry]) -> Callable[..., OplogEntry]:
        def counted_call(*args: Any) -> OplogEntry:
            self.decodes += 1
            return function(*args)

        return counted_call


@contextlib.contextmanager
def measured(meter: Meter) -> Iterator[None]:
    """Time the phases and the store reads, and count the decodes, whatever the style."""
    with contextlib.ExitStack() as stack:
        phases = (("_final_states", "final_states"), ("_check", "checks"), ("check_invariant", "invariants"))
        for name, column in phases:
            stack.enter_context(mock.patch.object(runner, name, meter.timed(column, getattr(runner, name))))
        for store in (MemoryOplogStore, SQLiteOplogStore):
            for name in ("read", "read_archived"):
                stack.enter_context(mock.patch.object(store, name, meter.timed("reads", getattr(store, name))))
        counted = meter.counted(entries.decode_entry)
        for module in ("entries", "memory_store", "decoded"):  # where the stores find it
            stack.enter_context(mock.patch(f"golemsim.core.oplog.{module}.decode_entry", counted))
        yield


@contextlib.contextmanager
def before_style() -> Iterator[None]:
    """The read-once parts off: each checker reads the store itself, the stores decode every read."""

    def decode_every_time(row: Any, worker: str, index: int) -> OplogEntry:
        return entries.decode_entry(worker, index, row.payload, row.checksum)

    def decode_all(_cache: DecodedEntries, worker: str, rows: Any) -> list[OplogEntry]:
        decode = entries.decode_entry
        return [decode(worker, index, bytes(payload), checksum) for index, payload, checksum in rows]

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch.object(runner, "CommittedOplogs", lambda store: store))
        stack.enter_context(mock.patch.object(memory_store._Row, "decoded", decode_every_time))
        stack.enter_context(mock.patch.object(DecodedEntries, "decode", decode_all))
        yield


def one_run(experiment: Experiment, registry: TemplateRegistry, store: str, style: str) -> tuple[Meter, Any]:
    meter = Meter()
    gc.collect()
    with contextlib.ExitStack() as stack:
        stack.enter_context(measured(meter))
        if style == "before":
            stack.enter_context(before_style())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="golemsim-bench-checks-")))
        started, cpu = time.perf_counter(), time.process_time()
        result = runner.run_experiment(experiment, registry=registry, out=folder if store == "sqlite" else None)
        meter.seconds["wall"] = time.perf_counter() - started
        meter.cpu["wall"] = time.process_time() - cpu
    for seconds in (meter.seconds, meter.cpu):
        seconds["run"] = seconds["wall"] - seconds["final_states"] - seconds["checks"] - seconds["invariants"]
    outcome = (result.trace_digest, [verdict.to_json() for verdict in result.verdicts])
    return meter, outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round, memory store only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--store", choices=("memory", "sqlite", "both"), default="both")
    parser.add_argument("experiments", nargs="*", default=list(NAMES), help=f"experiment names (default: {NAMES})")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    stores = ["memory"] if args.quick else (["memory", "sqlite"] if args.store == "both" else [args.store])
    loaded = {name: load_experiment(EXPERIMENTS / f"{name}.yaml") for name in args.experiments}
    registries = {name: runner.experiment_templates(experiment) for name, experiment in loaded.items()}
    meters: dict[tuple[str, str, str], list[Meter]] = {}
    outcomes: dict[tuple[str, str, str], Any] = {}
    for round_number in range(rounds):
        styles = ("before", "after") if round_number % 2 == 0 else ("after", "before")
        for name, experiment in loaded.items():
            for store in stores:
                for style in styles:
                    meter, outcome = one_run(experiment, registries[name], store, style)
                    meters.setdefault((name, store, style), []).append(meter)
                    known = outcomes.setdefault((name, store, "either"), outcome)
                    if outcome != known:
                        raise SystemExit(f"{name} on {store}: the {style} run's trace or verdicts differ")
    print(f"# golemsim checks and oplog reads ({platform.machine()}, Python {platform.python_version()})")
    print(f"{rounds} round(s); medians of wall seconds (CPU seconds of the process in brackets);")
    print("every run of an experiment gave the same trace digest and verdicts in both styles\n")
    header = ["experiment", "store", "style", "wall s", "run s", "final states s", "checks s", "invariants s"]
    header += ["oplog reads s", "decodes"]
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for (name, store, style), runs in meters.items():
        cells = [name, store, style]
        for column in COLUMNS:
            cells.append(f"{wall(runs, column):.2f} ({cpu(runs, column):.2f})")
        cells.append(f"{statistics.median(m.decodes for m in runs):,.0f}")
        print("| " + " | ".join(cells) + " |")
    print()
    for name in loaded:
        for store in stores:
            before, after = meters[(name, store, "before")], meters[(name, store, "after")]
            print(
                f"{name} on {store}: checks {wall(before, 'checks'):.2f} -> {wall(after, 'checks'):.2f} s "
                f"(CPU {cpu(before, 'checks'):.2f} -> {cpu(after, 'checks'):.2f}), final states + checks "
                f"{wall(before, 'final_states') + wall(before, 'checks'):.2f} -> "
                f"{wall(after, 'final_states') + wall(after, 'checks'):.2f} s, "
                f"wall {wall(before, 'wall'):.2f} -> {wall(after, 'wall'):.2f} s"
            )


def wall(runs: list[Meter], column: str) -> float:
    return statistics.median(m.seconds[column] for m in runs)


def cpu(runs: list[Meter], column: str) -> float:
    return statistics.median(m.cpu[column] for m in runs)


if __name__ == "__main__":
    main()
