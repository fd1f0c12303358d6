"""Observers of a run: they see every committed append and every replay step, and a run
watched by them is the same run, byte for byte."""

from __future__ import annotations

from collections import defaultdict

from support import COUNTERS_WITH_A_CRASH, experiment, failed, registry

from golemsim.core.ids import WorkerId
from golemsim.sim.cluster import Cluster
from golemsim.sim.observe import APPENDED, REPLAY, SimEvent
from golemsim.sim.runner import RunResult, run_experiment


class Recorder:
    def __init__(self) -> None:
        self.events: list[SimEvent] = []
        self.started_with: Cluster | None = None
        self.finished_with: RunResult | None = None

    def started(self, cluster: Cluster) -> None:
        self.started_with = cluster

    def on_event(self, event: SimEvent) -> None:
        self.events.append(event)

    def finished(self, result: RunResult) -> None:
        self.finished_with = result


def _run(*observers: Recorder) -> RunResult:
    return run_experiment(
        experiment(COUNTERS_WITH_A_CRASH), seed=3, registry=registry(("counter",)), observers=observers
    )


def test_observers_see_every_append_and_replay_without_changing_the_run() -> None:
    unwatched = _run()
    recorder = Recorder()
    watched = _run(recorder)
    assert watched.valid, failed(watched)
    assert watched.trace_digest == unwatched.trace_digest
    assert recorder.started_with is watched.cluster and recorder.finished_with is watched

    appended: dict[str, list[str]] = defaultdict(list)
    for event in recorder.events:
        if event.kind == APPENDED:
            assert event.fields["first"] == len(appended[event.fields["worker"]]) + 1, "appends arrive in index order"
            appended[event.fields["worker"]].extend(event.fields["kinds"])
    store = watched.cluster.storage.store
    assert appended, "the run appended entries"
    for worker, kinds in appended.items():
        assert kinds == [entry.kind for entry in store.read(WorkerId.parse(worker), 1)]

    replays = [e for e in recorder.events if e.kind == REPLAY]
    assert replays, "the crash and the live budget of 4 make workers rebuild"
    for event in replays:
        assert 0 <= event.fields["index"] <= event.fields["end"] <= len(appended[event.fields["worker"]])
    trace_kinds = {e.kind for e in recorder.events} - {APPENDED, REPLAY}
    assert {"fault", "node", "client"} <= trace_kinds
