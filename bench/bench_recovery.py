"""Recovery time against history length, with and without snapshots; one table, one run.

    python bench/bench_recovery.py [--quick]

For each history length (1k, 10k, 100k oplog entries; --quick stops at 10k) a worker of the
snapshot-kit test template gets that many entries of ``add`` invocations (written straight
into a SQLite oplog: the same entries real invocations write, so replay checks every
result), then its instance is rebuilt twice: by a full replay, and from a snapshot taken
after the last invocation (the entries it covers compacted into the archive). The ratio
column compares the two in the same run.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

from golemsim import Executor, SnapshotPolicy, SQLiteOplogStore, WorkerId, build_template
from golemsim.core.oplog.entries import InvocationCompleted, InvocationStarted, OplogEntry, PendingInvocation

KIT = Path(__file__).resolve().parent.parent / "tests" / "templates" / "snapshot_kit"
ENTRIES_PER_INVOCATION = 3  # pending, started, completed


def write_history(db: Path, wasm: Path, worker: WorkerId, entries: int) -> None:
    """About ``entries`` entries of add(1) invocations whose recorded results count up. The first
    invocation is real (it records what the guest's runtime reads at start-up: randomness)."""
    with Executor.open(db, resume=False) as ex:
        ex.deploy(wasm, name=worker.template)
        assert ex.invoke(worker.template, worker.name, "add", [1]) == 1
    store = SQLiteOplogStore(db)
    batch: list[OplogEntry] = []
    next_index, total = store.length(worker) + 1, 1
    for n in range(2, (entries - next_index) // ENTRIES_PER_INVOCATION + 2):
        key = f"add-{n}"
        total += 1
        batch += [
            PendingInvocation(key, "add", [1]),
            InvocationStarted(key, "add", [1]),
            InvocationCompleted(key, total, 0),
        ]
        if len(batch) >= 3000:
            store.append(worker, next_index, batch)
            next_index += len(batch)
            batch = []
    if batch:
        store.append(worker, next_index, batch)
    store.close()


def timed_restart(ex: Executor, worker: WorkerId, repeats: int) -> tuple[float, int]:
    samples, replayed = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        replayed = ex.restart_worker(worker)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), replayed


def measure(folder: Path, wasm: Path, entries: int, repeats: int) -> dict[str, float]:
    worker = WorkerId("snapshot-kit", "w")
    db = folder / f"history-{entries}.db"
    write_history(db, wasm, worker, entries)
    with Executor.open(db, resume=False) as ex:
        full_s, full_replayed = timed_restart(ex, worker, repeats)
        hot_before = len(ex.oplog(worker))
    policy = SnapshotPolicy(every_invocations=1)
    with Executor.open(db, resume=False, snapshots=policy) as ex:
        ex.invoke(worker.template, worker.name, "add", [1])  # completes on the replayed state: snapshot, compact
        snap_s, snap_replayed = timed_restart(ex, worker, repeats)
        hot_after = len(ex.oplog(worker))
        info = ex.recovery_info(worker)
        assert info is not None and info.mode == "snapshot", info
    return {
        "entries": entries,
        "full_s": full_s,
        "full_replayed": full_replayed,
        "snap_s": snap_s,
        "snap_replayed": snap_replayed,
        "hot_before": hot_before,
        "hot_after": hot_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k entries only")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    wasm = build_template(KIT).wasm_path
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    print(f"# recovery time against history length ({platform.machine()}, {platform.python_version()})")
    print()
    print(
        "| oplog entries | full replay (s) | invocations replayed | from snapshot (s) | replayed after it |"
        " hot entries before / after | full / snapshot |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="golemsim-bench-") as tmp:
        for entries in sizes:
            row = measure(Path(tmp), wasm, entries, args.repeats)
            ratio = row["full_s"] / row["snap_s"] if row["snap_s"] else float("inf")
            print(
                f"| {entries:,} | {row['full_s']:.3f} | {row['full_replayed']:,} | {row['snap_s']:.4f} |"
                f" {row['snap_replayed']} | {row['hot_before']:,} / {row['hot_after']} | {ratio:.0f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
