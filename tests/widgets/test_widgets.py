"""The widgets, kernel side: they watch real simulation runs (real components), end up showing
exactly what the storage holds, answer a selection the way a click in the page makes one, and
fall back to readable text and HTML. (tests/widgets/test_browser_widgets.py draws them in a real page.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import experiment, failed, registry

from golemsim import Executor
from golemsim.core.ids import WorkerId
from golemsim.sim.runner import run_experiment
from golemsim.widgets import ClusterView, ExperimentPanel, OplogView, RecoveryProgress, run_live, start_live

CHECKOUTS_WITH_A_CRASH = """
name: checkouts with a crash
app: checkout
store: memory
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05}
workload: {mode: open, rate: 30, operations: 60, keys: 60, timeout: 5, retries: 0}
faults:
  - {at: 0.8, kind: crash, target: node-1, duration: 1}
"""

SMALL_CARTS = """
name: small carts
app: shopping-cart
store: memory
cluster: {nodes: 2, shards: 4}
network: {latency: 0.001, jitter: 0.001}
workload: {mode: closed, clients: 3, think: 0.05, operations: 60, keys: 6}
random_faults: {rates: {crash: 20}, start: 0.5, mean_duration: 0.5}
"""


def test_views_follow_a_run_and_end_showing_what_the_storage_holds() -> None:
    oplog, cluster, progress = OplogView(), ClusterView(), RecoveryProgress()
    exp = experiment(CHECKOUTS_WITH_A_CRASH)
    result = run_live(exp, oplog, cluster, progress, seed=2)
    plain = run_experiment(exp, seed=2, registry=registry(("checkout",)))
    assert result.valid, failed(result)
    assert result.trace_digest == plain.trace_digest, "watching a run does not change it"

    # The oplog view followed the first worker whose replay it saw, and holds its whole oplog.
    assert oplog.worker, "the crash made a checkout resume by replay"
    stored = result.cluster.storage.store.read(WorkerId.parse(oplog.worker), 1)
    assert [kind for _, kind, _ in oplog.rows()] == [entry.kind for entry in stored]
    assert oplog.total == len(stored) and [e["i"] for e in oplog.entries] == list(range(1, len(stored) + 1))
    assert oplog.recoveries >= 1 and oplog.cursor == 0, "the cursor moved during the run and rests at the end"
    oplog.selected = 3  # what a click on the third entry does in the page
    assert oplog.detail.startswith(f"#3 {stored[2].kind} ")

    # The cluster view saw the crash come and go, and the nodes end up.
    assert [n["state"] for n in cluster.nodes] == ["up", "up", "up"]
    assert [f["what"] for f in cluster.faults] == ["t=0.8s crash node-1 for 1 s"]
    assert cluster.faults[0]["active"] is False
    assert sorted(cluster.positions) == sorted(
        [n["name"] for n in cluster.nodes] + [f"shard-{s}" for s in range(6)] + [w["name"] for w in cluster.workers]
    )
    assert len(cluster.workers) + cluster.hidden_workers == len(result.cluster.storage.store.workers())
    cluster.selected = "node-1"
    assert cluster.detail.startswith("node-1: up; shards ") and "crash node-1" in cluster.detail

    # Every rebuild the progress bars saw finished: replayed all its entries.
    assert progress.count >= 1 and not progress.running
    assert all(r.done and r.replayed == r.total for r in progress.finished_rebuilds)
    assert len(progress.bars.children) == len(progress.finished_rebuilds)


def test_each_view_has_a_readable_text_and_html_fallback() -> None:
    oplog, cluster, progress = OplogView(), ClusterView(), RecoveryProgress()
    run_live(experiment(CHECKOUTS_WITH_A_CRASH), oplog, cluster, progress, seed=2)
    for view, words in (
        (oplog, [f"Oplog of {oplog.worker}", "invocation-completed"]),
        (cluster, ["Cluster at t=", "node-1", "crash node-1 for 1 s (healed)"]),
        (progress, ["rebuilds by replay so far", "entries, done"]),
    ):
        bundle = view._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle  # anywidget adds metadata
        assert "application/vnd.jupyter.widget-view+json" in data
        for word in words:
            assert word in data["text/plain"] and word in view.to_text()
        assert data["text/html"].startswith("<") and "0x" not in data["text/plain"]


def test_the_oplog_view_of_a_real_executor(tmp_path: Path, counter_wasm: Path) -> None:
    with Executor.open(tmp_path / "oplogs.db") as ex:
        ex.deploy(counter_wasm, name="counter")
        ex.invoke("counter", "c1", "increment", [2])
        view = OplogView.of_executor(ex, "counter/c1")
        first = view.total
        ex.invoke("counter", "c1", "increment", [3])
        view.refresh()
        assert view.total > first
        assert [k for _, k, _ in view.rows()] == [e.kind for _, e in ex.oplog("counter/c1")]
    assert "Oplog of counter/c1" in view.to_text()


def test_the_panel_builds_its_experiment_from_the_controls_and_shows_the_results() -> None:
    panel = ExperimentPanel(experiment(SMALL_CARTS))
    panel.seed.value, panel.crash_rate.value, panel.partition_rate.value = 5, 6.0, 3.0
    panel.snapshot_every.value, panel.workers.value = 10, 4
    exp = panel.experiment()
    assert exp.seed == 5 and exp.keys.keys == 4
    assert exp.random_faults is not None and exp.random_faults.rates == {"crash": 6.0, "partition": 3.0}
    assert exp.cluster.snapshots is not None and exp.cluster.snapshots.every_invocations == 10

    result = panel.run()
    assert panel.result is result and result.seed == 5
    assert panel.verdicts.value.count("<tr>") == len(result.verdicts)
    assert [image.value[:4] for image in panel.plots.children] == [b"\x89PNG", b"\x89PNG"]
    assert not panel.button.disabled and panel.bar.value == 1.0
    assert ("VALID" if result.valid else "INVALID") in panel.status.value
    assert "seed 5, 4 workers, crashes 6/min, partitions 3/min, snapshots every 10 invocations" in panel.to_text()


def test_the_button_runs_in_the_background_and_gives_the_same_run() -> None:
    panel = ExperimentPanel(experiment(SMALL_CARTS))
    in_cell = panel.run()
    live = start_live(experiment(SMALL_CARTS), ClusterView())
    panel.button.click()  # the button's handler returns at once; the run goes on its thread
    assert panel.live is not None and panel.button.disabled
    background = panel.live.wait(timeout=300)
    assert background.trace_digest == in_cell.trace_digest == live.wait(timeout=300).trace_digest
    assert panel.result is background and not panel.button.disabled


def test_the_views_and_the_panel_take_an_experiment_files_path(tmp_path: Path) -> None:
    path = tmp_path / "carts.yaml"
    path.write_text(SMALL_CARTS)
    panel = ExperimentPanel(path)
    assert (panel.base.name, panel.base.source) == ("small carts", str(path))
    view = ClusterView()
    by_path = run_live(str(path), view)
    assert by_path.valid, failed(by_path)
    assert by_path.trace_digest == run_live(experiment(SMALL_CARTS)).trace_digest


def test_the_simulation_does_not_import_the_widgets() -> None:
    code = (
        "import sys, golemsim.sim, golemsim.core\n"
        "print(sorted(m for m in ('ipywidgets', 'anywidget') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow  # two simulation runs on each side: kept out of the quick loop
def test_the_panel_compares_with_the_lambda_baseline_and_keeps_the_last_runs() -> None:
    panel = ExperimentPanel(experiment(CHECKOUTS_WITH_A_CRASH), keep=2)
    assert not panel.compare.disabled and not panel.compare.value
    assert ExperimentPanel(experiment(SMALL_CARTS)).compare.disabled, "the baseline is a checkout's"
    panel.compare.value = True
    runs = []
    for seed in (2, 3, 2):
        panel.seed.value = seed
        runs.append(panel.run())
        assert panel.baseline is not None and panel.baseline.variant == "lambda" and panel.baseline.seed == seed
    plain = run_experiment(
        experiment(CHECKOUTS_WITH_A_CRASH), seed=2, variant="lambda", registry=registry(("checkout",))
    )
    assert panel.baseline.trace_digest == plain.trace_digest, "the baseline ran the same plan"

    assert [row.seed for row in panel.history] == [3, 2], "the last two runs, the newest last"
    row = panel.history[-1]
    assert (row.faults, row.verdict) == ("1 scripted (1 applied)", "VALID")
    assert row.acknowledged == f"{runs[-1].summary['acknowledged']} of 60" and row.p99.endswith(("ms", " s"))
    assert row.baseline.startswith(f"{panel.baseline.summary['acknowledged']} of 60, p99 ")
    assert panel.history_table.value.count("<tr>") == 3 and "lambda baseline" in panel.history_table.value
    assert "lambda baseline: " in panel.to_text() and "last runs:" in panel.to_text()

    # The plots: workers and lambdas side by side, and the orders' outcomes, each PNG twice as wide as shown.
    assert len(panel.plots.children) == 2
    for image in panel.plots.children:
        assert image.value[:4] == b"\x89PNG"
        pixels, shown = int.from_bytes(image.value[16:20], "big"), int(image.layout.width.removesuffix("px"))
        assert abs(pixels - 2 * shown) <= 0.01 * shown, (pixels, shown)
