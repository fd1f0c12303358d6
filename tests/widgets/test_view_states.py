"""What the views say about workers agrees with the lesson: a crash loses no worker (its oplog is
durable), so the cluster view shows workers suspended, moving, recovering and back, never lost, and
the oplog view marks where a crash cut a log and where replay took over. Real simulation runs."""

from __future__ import annotations

from collections import Counter

from support import experiment, failed

from golemsim.sim.observe import SimEvent
from golemsim.widgets import ClusterView, OplogView, run_live
from golemsim.widgets.cluster_view import IDLE, MOVING, RECOVERING, SUSPENDED, WORKER_STATUSES
from golemsim.widgets.oplog_marks import CUT, REPLAYED, RESUMED

LONG_CRASH = """
name: checkouts while a node is down long enough to be declared dead
app: checkout
store: memory
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05}
workload: {mode: open, rate: 30, operations: 60, keys: 60, timeout: 8, retries: 0}
faults:
  - {at: 0.8, kind: crash, target: node-1, duration: 6}
"""

SHORT_CRASH = LONG_CRASH.replace("duration: 6", "duration: 1")


class Statuses:
    """Watches after the view (added after it): each worker's statuses in the order they changed."""

    def __init__(self, view: ClusterView) -> None:
        self.view = view
        self.paths: dict[str, list[str]] = {}

    def on_event(self, event: SimEvent) -> None:
        for worker, status in self.view.statuses().items():
            path = self.paths.setdefault(worker, [])
            if not path or path[-1] != status:
                path.append(status)


def test_a_crashed_nodes_workers_are_suspended_move_recover_and_end_idle() -> None:
    view = ClusterView()
    watch = Statuses(view)
    result = run_live(experiment(LONG_CRASH), view, watch, seed=2)
    assert result.valid, failed(result)

    seen = Counter(status for path in watch.paths.values() for status in path)
    assert set(seen) <= set(WORKER_STATUSES), seen
    assert seen[SUSPENDED] and seen[MOVING] and seen[RECOVERING], seen
    # A suspended worker was handed to another node, not lost: its next status is moving.
    after_suspended = {p[p.index(SUSPENDED) + 1] for p in watch.paths.values() if SUSPENDED in p[:-1]}
    assert after_suspended == {MOVING}
    # The run is valid: at its end no worker is shown in a bad state.
    assert set(view.statuses().values()) == {IDLE}
    assert {w["status"] for w in view.workers} == {IDLE}
    assert "lost" not in view.to_text() + view.to_html() and "workers: 60 idle" in view.to_text()
    assert all(status in view.to_html() for status in WORKER_STATUSES), "the HTML has a legend"
    view.selected = view.workers[0]["name"]
    assert view.detail.startswith(f"{view.workers[0]['name']}: idle (nothing to do")


def test_the_oplog_view_marks_where_a_crash_cut_the_log_and_replay_took_over() -> None:
    view = OplogView()
    result = run_live(experiment(SHORT_CRASH), view, seed=2)
    assert result.valid, failed(result)

    marks = view.marks()
    [cut] = marks.cuts  # the crash cut this worker's log once...
    [replay] = [span for span in marks.replays if span.first <= cut <= span.upto]  # ... and replay took it over
    assert replay.done and marks.cuts[cut].startswith("node-1 crashed at t=0.8s")
    [resumed] = marks.resumed  # the first entry written after the replay caught up
    assert resumed > replay.end >= cut

    entries = {e["i"]: e["m"] for e in view.entries}
    assert CUT in entries[cut] and REPLAYED in entries[cut] and entries[resumed] == [RESUMED]
    assert all(REPLAYED in entries[i] for i in range(replay.first, replay.upto + 1))
    assert view.notes[str(cut)].startswith("the last entry before the crash: node-1 crashed")

    text = view.to_text(last=100)
    assert f"crash cut after #{cut}: node-1 crashed at t=0.8s" in text
    assert f"replay took over: #{replay.first}-#{replay.upto} replayed on " in text
    assert f"#{resumed}: first new entry after the replay" in text
    row = next(line for line in text.splitlines() if line.split()[:2] == ["xr", str(cut)])
    assert row.split()[2] == next(kind for i, kind, _ in view.rows() if i == cut)
    assert "the last entry before the crash" in view.to_html(last=100)
