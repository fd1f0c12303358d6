"""The experiment panel: controls for the seed, the crash and partition rates, the snapshot
interval and the number of workers; a run button; the cluster and recovery progress while it
runs; the checkers' verdicts and the result plots below.

    panel = ExperimentPanel()                  # shopping carts under random faults
    panel                                      # set the controls, press "Run experiment"
    result = panel.run()                       # or run it from code, in the cell

The button runs the simulation on a background thread, so the kernel stays free.
"""

from __future__ import annotations

import html
import io
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..core.policy import SnapshotPolicy
from ..sim.experiment import Experiment, parse_experiment
from ..sim.nemesis import RandomFaults
from .cluster_view import ClusterView
from .fallback import TextFallback
from .live import LiveRun, as_experiment, run_live
from .recovery_progress import RecoveryProgress

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..sim.runner import RunResult

DEFAULT_EXPERIMENT = """
name: shopping carts under random faults
app: shopping-cart
store: memory
cluster: {nodes: 3, shards: 12}
network: {latency: 0.001, jitter: 0.001}
workload: {mode: open, rate: 40, operations: 400, keys: 20, distribution: zipf}
random_faults: {rates: {crash: 12, partition: 6}, start: 1, mean_duration: 1.5}
"""
"""The panel's experiment unless given another: carts (they take snapshots) for about ten
simulated seconds, under about three random crashes or partitions."""


class ExperimentPanel(TextFallback, widgets.VBox):  # type: ignore[misc]
    """Controls, a run button, live views, then verdicts and plots."""

    def __init__(self, experiment: Experiment | str | Path | None = None) -> None:
        """Controls over ``experiment`` (an Experiment or an experiment file's path, a shipped
        app or your own), or over a default carts experiment."""
        self.base = (
            as_experiment(experiment)
            if experiment is not None
            else parse_experiment(DEFAULT_EXPERIMENT, source="<panel>")
        )
        rates = self.base.random_faults.rates if self.base.random_faults else {}
        policy = self.base.cluster.snapshots
        style = {"description_width": "150px"}
        self.seed = widgets.IntText(value=self.base.seed, description="seed", style=style)
        self.crash_rate = widgets.FloatSlider(
            value=rates.get("crash", 0.0), min=0, max=60, step=1, description="crashes / minute", style=style
        )
        self.partition_rate = widgets.FloatSlider(
            value=rates.get("partition", 0.0), min=0, max=60, step=1, description="partitions / minute", style=style
        )
        self.snapshot_every = widgets.IntSlider(
            value=(policy.every_invocations or 0) if policy else 0,
            min=0,
            max=100,
            step=5,
            description="snapshot every (0: template's)",
            style=style,
        )
        self.workers = widgets.IntSlider(value=self.base.keys.keys, min=1, max=500, description="workers", style=style)
        self.button = widgets.Button(description="Run experiment", button_style="primary", icon="play")
        self.status = widgets.HTML("Set the controls and press <b>Run experiment</b>.")
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="300px"))
        self.cluster_view = ClusterView()
        self.recovery = RecoveryProgress()
        self.verdicts = widgets.HTML()
        self.plots = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        controls = widgets.VBox([self.seed, self.crash_rate, self.partition_rate, self.snapshot_every, self.workers])
        super().__init__(
            [
                widgets.HTML(f"<b>{html.escape(self.base.name)}</b> ({html.escape(self.base.app)})"),
                controls,
                widgets.HBox([self.button, self.bar, self.status]),
                self.cluster_view,
                self.recovery,
                self.verdicts,
                self.plots,
            ]
        )
        self.result: RunResult | None = None
        self.live: LiveRun | None = None
        self.button.on_click(lambda _button: self.start())

    def experiment(self) -> Experiment:
        """The base experiment with the controls' values."""
        rates = dict(self.base.random_faults.rates) if self.base.random_faults else {}
        rates.update(crash=float(self.crash_rate.value), partition=float(self.partition_rate.value))
        rates = {kind: rate for kind, rate in rates.items() if rate > 0}
        random_faults = replace(self.base.random_faults or RandomFaults(), rates=rates) if rates else None
        every = int(self.snapshot_every.value)
        snapshots = SnapshotPolicy(every_invocations=every) if every else self.base.cluster.snapshots
        return replace(
            self.base,
            seed=int(self.seed.value),
            cluster=replace(self.base.cluster, snapshots=snapshots),
            keys=replace(self.base.keys, keys=int(self.workers.value)),
            random_faults=random_faults,
        )

    def run(self) -> RunResult:
        """Run the experiment in this cell (the views update as it goes) and show the results."""
        self._before()
        try:
            result = run_live(self.experiment(), self.cluster_view, self.recovery, progress=self._progress)
        finally:
            self.button.disabled = False
        self._after(result)
        return result

    def start(self) -> LiveRun:
        """Run the experiment on a background thread (what the button does); the kernel stays free."""
        self._before()
        experiment = self.experiment()

        def target() -> RunResult:
            try:
                result = run_live(experiment, self.cluster_view, self.recovery, progress=self._progress)
            except Exception as error:
                self.status.value = f"<span style='color:#b91c1c'>The run failed: {html.escape(str(error))}</span>"
                raise
            finally:
                self.button.disabled = False
            self._after(result)
            return result

        self.live = LiveRun(target)
        return self.live

    def _before(self) -> None:
        self.button.disabled = True
        self.bar.value = 0.0
        self.verdicts.value = ""
        for image in self.plots.children:  # closed, or each run would leave its images in the kernel
            image.close()
        self.plots.children = []
        self.status.value = "running..."

    def _progress(self, phase: str, fraction: float) -> None:
        self.bar.value = fraction
        self.status.value = html.escape(phase)

    def _after(self, result: RunResult) -> None:
        self.result = result
        self.bar.value = 1.0
        self.status.value = _headline(result)
        self.verdicts.value = verdicts_html(result)
        self.plots.children = [
            widgets.Image(value=_png(figure), format="png", layout=widgets.Layout(width="480px"))
            for figure in _figures(result)
        ]

    def to_text(self) -> str:
        exp = self.experiment()
        rates = exp.random_faults.rates if exp.random_faults else {}
        lines = [
            f"Experiment panel: {exp.name} ({exp.app})",
            f"  seed {exp.seed}, {exp.keys.keys} workers, crashes {rates.get('crash', 0):g}/min, "
            f"partitions {rates.get('partition', 0):g}/min, "
            f"snapshots {_every(exp.cluster.snapshots)}",
        ]
        if self.result is not None:
            lines.append("  " + _headline(self.result))
            lines += [f"  {'valid  ' if v.valid else 'INVALID'} {v.name}" for v in self.result.verdicts]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ExperimentPanel({self.base.name!r})"


def verdicts_html(result: RunResult) -> str:
    """The checkers' verdicts as an HTML table (the first counter-example of each failure)."""
    rows = []
    for verdict in result.verdicts:
        mark = "<span style='color:#15803d'>valid</span>" if verdict.valid else "<b style='color:#b91c1c'>INVALID</b>"
        example = html.escape(str(verdict.counterexamples[0]))[:200] if verdict.counterexamples else ""
        rows.append(f"<tr><td>{mark}</td><td>{html.escape(verdict.name)}</td><td><code>{example}</code></td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _headline(result: RunResult) -> str:
    summary = result.summary
    outcome = "VALID" if result.valid else "INVALID"
    return (
        f"{outcome}: {summary.get('acknowledged', 0)} of {summary.get('operations', 0)} operations acknowledged, "
        f"{len(result.faults)} faults, {summary.get('recoveries', 0)} recoveries"
    )


def _every(policy: SnapshotPolicy | None) -> str:
    if policy is None:
        return "as the template says"
    return f"every {policy.every_invocations} invocations" if policy.every_invocations else "by oplog size"


def _figures(result: RunResult) -> list[Figure]:
    from ..sim import plots

    duration = float(result.summary.get("simulated_seconds", result.cluster.env.now))
    metrics = result.cluster.metrics
    return [plots.latency_figure(metrics, duration), plots.recovery_figure(metrics, duration)]


def _png(figure: Figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return buffer.getvalue()
