"""Snapshots with bounded recovery, template updates and delete, through the executor, with
real components (snapshot-kit v1 and v2, testkit and its diverging twin) on real SQLite files."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from support import SNAPSHOT_KIT as KIT

from golemsim import Executor, LedgerRegistry, SnapshotPolicy, WorkerFailed, build_template
from golemsim.core.oplog.entries import (
    Checkpoint,
    PendingInvocation,
    UpdateFailed,
    UpdatePending,
    UpdateSucceeded,
)


@pytest.fixture(scope="session")
def kit_v1() -> Path:
    return build_template(KIT).wasm_path


@pytest.fixture(scope="session")
def kit_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version 2 of snapshot-kit: the same state and functions, plus ``double`` (built from a
    patched copy; the build cache keys it by its sources, so it is built once)."""
    folder = tmp_path_factory.mktemp("kit") / "snapshot_kit_v2"
    shutil.copytree(KIT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = folder / "golemsim.toml"
    manifest.write_text(manifest.read_text().replace("version = 1", "version = 2"))
    wit = next((folder / "wit").glob("*.wit"))
    marker = "    /// Add `by` to the total"
    wit.write_text(wit.read_text().replace(marker, "    export double: func() -> s64;\n" + marker))
    app = folder / "app.py"
    double = "    def double(self) -> int:\n        global total\n        total *= 2\n        return total\n\n"
    app.write_text(app.read_text().replace("    def add(self", double + "    def add(self"))
    return build_template(folder).wasm_path


def open_kit(db: Path, ledger: LedgerRegistry, kit_v1: Path, **options: object) -> Executor:
    ex = Executor.open(db, services=ledger, **options)  # type: ignore[arg-type]
    if not ex.list_templates():
        ex.deploy(kit_v1, name="snapshot-kit")
    return ex


def total(ex: Executor, worker: str = "w") -> int:
    return int(json.loads(ex.invoke("snapshot-kit", worker, "summary"))["total"])


def test_snapshots_bound_the_hot_oplog_and_recovery_replays_only_what_follows(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path
) -> None:
    db, policy = tmp_path / "golem.db", SnapshotPolicy(every_invocations=5)
    with open_kit(db, ledger, kit_v1, snapshots=policy) as ex:
        for n in range(1, 24):
            ex.invoke("snapshot-kit", "w", "add", [n], idempotency_key=f"add-{n}")
        hot = ex.oplog("snapshot-kit/w")
        assert isinstance(hot[0][1], Checkpoint)  # everything before the last checkpoint was compacted
        assert len(hot) < 30 and ex.oplogs.first_index(ex.oplogs.workers()[0][0]) > 50
        ex.restart_worker("snapshot-kit/w")
        info = ex.recovery_info("snapshot-kit/w")
        assert info is not None and info.mode == "snapshot" and info.invocations <= 5
        assert total(ex) == sum(range(1, 24))
    with open_kit(db, ledger, kit_v1, snapshots=policy) as ex:
        assert total(ex) == sum(range(1, 24))  # rebuilt from the snapshot after a reopen
        info = ex.recovery_info("snapshot-kit/w")
        assert info is not None and info.mode == "snapshot"
        # An early key whose entries were compacted away is still answered, not run again.
        assert ex.invoke("snapshot-kit", "w", "add", [1], idempotency_key="add-1") == 1
        assert total(ex) == sum(range(1, 24))


def test_invocations_replayed_by_a_rebuild_count_towards_the_next_snapshot(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path
) -> None:
    """A snapshot every 3 invocations, and a new executor (as after a crash) every 2: no rebuild
    replays more than 2, since the invocations a rebuild replayed are in no snapshot yet."""
    db, policy = tmp_path / "golem.db", SnapshotPolicy(every_invocations=3)
    replayed = []
    for n in range(1, 13, 2):
        with open_kit(db, ledger, kit_v1, snapshots=policy) as ex:
            if n > 1:
                ex.restart_worker("snapshot-kit/w")  # rebuilds now, in this executor
                info = ex.recovery_info("snapshot-kit/w")
                assert info is not None
                replayed.append(info.invocations)
            for m in (n, n + 1):
                ex.invoke("snapshot-kit", "w", "add", [m], idempotency_key=f"add-{m}")
    assert replayed and max(replayed) <= 2, replayed
    with open_kit(db, ledger, kit_v1, snapshots=policy) as ex:
        assert total(ex) == sum(range(1, 13))


def test_a_snapshot_that_fails_to_load_falls_back_to_a_full_replay(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path
) -> None:
    with open_kit(tmp_path / "golem.db", ledger, kit_v1, snapshots=SnapshotPolicy(every_invocations=3)) as ex:
        ex.invoke("snapshot-kit", "w", "poison", ["load-error"])
        for n in range(5):
            ex.invoke("snapshot-kit", "w", "add", [n])
        ex.restart_worker("snapshot-kit/w")
        info = ex.recovery_info("snapshot-kit/w")
        assert info is not None and info.mode == "full"
        assert info.fallback is not None and "poisoned on purpose" in info.fallback
        assert total(ex) == 10  # the archive held the whole history


def test_without_an_archive_an_unloadable_snapshot_fails_the_worker_clearly(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path
) -> None:
    policy = SnapshotPolicy(every_invocations=3, compaction="drop")
    with open_kit(tmp_path / "golem.db", ledger, kit_v1, snapshots=policy) as ex:
        ex.invoke("snapshot-kit", "w", "poison", ["load-error"])
        for n in range(5):
            ex.invoke("snapshot-kit", "w", "add", [n])
        with pytest.raises(WorkerFailed, match=r"cannot be recovered: .*dropped"):
            ex.restart_worker("snapshot-kit/w")


def test_an_automatic_update_replays_the_history_on_the_new_version(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path, kit_v2: Path
) -> None:
    with open_kit(tmp_path / "golem.db", ledger, kit_v1) as ex:
        for n in range(4):
            ex.invoke("snapshot-kit", "w", "add", [n])
        ex.deploy(kit_v2, name="snapshot-kit", version=2)
        outcome = ex.update_worker("snapshot-kit/w", 2)
        assert outcome.succeeded and outcome.version == 2
        assert ex.invoke("snapshot-kit", "w", "double") == 12
        [info] = ex.workers()
        assert info.template_version == 2 and info.update == "updated to v2 (auto)"
        ex.restart_worker("snapshot-kit/w")
        assert total(ex) == 12
        kinds = [type(entry) for _, entry in ex.oplog("snapshot-kit/w")]
        assert UpdatePending in kinds and UpdateSucceeded in kinds


def test_a_diverging_update_fails_and_the_worker_keeps_its_version(
    tmp_path: Path, ledger: LedgerRegistry, testkit_wasm: Path, testkit_changed_wasm: Path
) -> None:
    with Executor.open(tmp_path / "golem.db", services=ledger) as ex:
        ex.deploy(testkit_wasm, name="testkit")
        ex.invoke("testkit", "t", "two-calls", ["x"])
        ex.invoke("testkit", "t", "add", [5])
        ex.deploy(testkit_changed_wasm, name="testkit", version=2)
        outcome = ex.update_worker("testkit/t", 2)
        assert not outcome.succeeded and outcome.version == 1
        assert outcome.reason is not None and "diverged" in outcome.reason
        assert ex.invoke("testkit", "t", "add", [1]) == 6  # still working, on version 1
        [info] = ex.workers()
        assert info.template_version == 1 and info.update is not None and "failed" in info.update
        assert any(isinstance(entry, UpdateFailed) for _, entry in ex.oplog("testkit/t"))
        ex.restart_worker("testkit/t")
        assert ex.invoke("testkit", "t", "add", [0]) == 6


def test_a_snapshot_update_moves_the_state_and_recovery_starts_there(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path, kit_v2: Path
) -> None:
    db = tmp_path / "golem.db"
    with open_kit(db, ledger, kit_v1) as ex:
        ex.invoke("snapshot-kit", "w", "add", [20])
        ex.invoke("snapshot-kit", "w", "annotate", ["pen", "blue"])
        ex.deploy(kit_v2, name="snapshot-kit", version=2)
        assert ex.update_worker("snapshot-kit/w", 2, mode="snapshot").succeeded
        assert ex.invoke("snapshot-kit", "w", "double") == 40
    with open_kit(db, ledger, kit_v1) as ex:
        summary = json.loads(ex.invoke("snapshot-kit", "w", "summary"))
        assert summary["total"] == 40 and summary["notes"] == {"pen": ["blue", 1]}
        info = ex.recovery_info("snapshot-kit/w")
        assert info is not None and info.mode == "snapshot" and info.invocations == 1  # double (summary runs after)


def test_delete_removes_a_worker_and_its_history(tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path) -> None:
    with open_kit(tmp_path / "golem.db", ledger, kit_v1, snapshots=SnapshotPolicy(every_invocations=2)) as ex:
        for n in range(5):
            ex.invoke("snapshot-kit", "w", "add", [n])
        ex.delete_worker("snapshot-kit/w")
        assert ex.workers() == []
        assert ex.invoke("snapshot-kit", "w", "add", [1]) == 1  # a new worker of that name starts afresh


def test_a_template_carries_its_own_snapshot_policy_across_restarts(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path
) -> None:
    db = tmp_path / "golem.db"
    with Executor.open(db, services=ledger) as ex:
        ex.deploy(kit_v1, name="snapshot-kit", snapshot=SnapshotPolicy(every_invocations=2, compaction="keep"))
        for n in range(3):
            ex.invoke("snapshot-kit", "w", "add", [n])
        first = [i for i, e in ex.oplog("snapshot-kit/w") if isinstance(e, Checkpoint)]
        assert len(first) == 1 and ex.oplog("snapshot-kit/w")[0][0] == 1  # "keep": nothing compacted
    with Executor.open(db, services=ledger) as ex:  # the policy was stored with the template
        for n in range(2):
            ex.invoke("snapshot-kit", "w", "add", [n])
        assert len([e for _, e in ex.oplog("snapshot-kit/w") if isinstance(e, Checkpoint)]) == 2


def test_a_checkpoint_carries_a_scheduled_invocation_over_compaction(
    tmp_path: Path, ledger: LedgerRegistry, kit_v1: Path
) -> None:
    db, policy = tmp_path / "golem.db", SnapshotPolicy(every_invocations=1)
    with open_kit(db, ledger, kit_v1, snapshots=policy) as ex:
        ex.invoke("snapshot-kit", "w", "add", [1])
        due = time.time_ns() // 1_000_000 + 1500
        ex.schedule("snapshot-kit", "w", "add", [10], at_ms=due, idempotency_key="later")
        ex.invoke("snapshot-kit", "w", "add", [1])  # snapshot: the scheduled entry is compacted away
        assert not any(isinstance(e, PendingInvocation) and e.due_ms for _, e in ex.oplog("snapshot-kit/w"))
    with open_kit(db, ledger, kit_v1, snapshots=policy) as ex:  # the checkpoint re-arms it
        assert [key for _, key in ex.scheduled()] == ["later"]
        deadline = time.monotonic() + 15
        while total(ex) != 12:
            assert time.monotonic() < deadline, "the scheduled invocation did not run"
            time.sleep(0.05)
