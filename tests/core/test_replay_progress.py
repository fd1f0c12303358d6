"""The replay listener: a rebuild tells how far it has replayed the oplog, from before the first
completed invocation to the last one, on a real counter component and a real SQLite oplog."""

from __future__ import annotations

from pathlib import Path

from golemsim import Executor, WorkerId


def test_a_rebuild_reports_its_replay_cursor_up_to_the_last_completed_invocation(
    tmp_path: Path, counter_wasm: Path
) -> None:
    db = tmp_path / "oplogs.db"
    with Executor.open(db) as ex:
        ex.deploy(counter_wasm, name="counter")
        for _ in range(4):
            ex.invoke("counter", "c1", "increment", [1])
        last_completed = max(i for i, e in ex.oplog("counter/c1") if e.kind == "invocation-completed")

    steps: list[tuple[WorkerId, int, int]] = []
    with Executor.open(db) as ex:
        ex.on_replay = lambda worker, index, end: steps.append((worker, index, end))
        assert ex.invoke("counter", "c1", "get") == 4
    assert steps, "the restart rebuilt the counter by replay"
    workers = {worker for worker, _, _ in steps}
    assert workers == {WorkerId("counter", "c1")}
    indexes = [index for _, index, _ in steps]
    assert indexes == sorted(indexes) and len(indexes) == 5, "one step before the replay, one per invocation"
    assert {end for _, _, end in steps} == {last_completed}
    assert indexes[-1] == last_completed and indexes[0] < indexes[1]
