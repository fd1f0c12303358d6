"""The experiment panel: controls for the seed, the crash and partition rates, the snapshot
interval and the number of workers; a run button; the cluster and recovery progress while it
runs; the checkers' verdicts and the result plots below (PNG at twice the screen's resolution),
and a table of the last runs to compare. For the checkout app, "compare with lambda baseline"
also runs the same plan (seed, faults) as stateless functions and shows both side by side.

    panel = ExperimentPanel()                  # shopping carts under random faults
    panel                                      # set the controls, press "Run experiment"
    result = panel.run()                       # or run it from code, in the cell

The button runs the simulation on a background thread, so the kernel stays free.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as widgets

from ..core.policy import SnapshotPolicy
from ..sim.experiment import Experiment, parse_experiment
from ..sim.nemesis import RandomFaults
from . import pictures
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
HISTORY = 5
"""Runs kept in the panel's table to compare (the newest)."""
PLOT_WIDTH = 480
"""CSS pixels a plot is shown at (its PNG has twice as many: sharp on high-density screens)."""
BASELINE_APPS = ("checkout",)
"""Apps the lambda baseline implements."""


@dataclass(frozen=True)
class RunRow:
    """One run in the panel's table: what was run and how it went (and the baseline's, if run)."""

    seed: int
    faults: str
    acknowledged: str
    p99: str
    verdict: str
    baseline: str = "-"

    @staticmethod
    def of(result: RunResult, baseline: RunResult | None) -> RunRow:
        return RunRow(
            result.seed,
            _fault_plan(result),
            _acknowledged(result),
            _p99(result),
            "VALID" if result.valid else "INVALID",
            "-"
            if baseline is None
            else f"{_acknowledged(baseline)}, p99 {_p99(baseline)}, " + ("VALID" if baseline.valid else "INVALID"),
        )


COLUMNS = ("seed", "faults", "acknowledged", "p99", "verdict", "lambda baseline")


class ExperimentPanel(TextFallback, widgets.VBox):  # type: ignore[misc]
    """Controls, a run button, live views, then verdicts and plots."""

    def __init__(self, experiment: Experiment | str | Path | None = None, *, keep: int = HISTORY) -> None:
        """Controls over ``experiment`` (an Experiment or an experiment file's path, a shipped
        app or your own), or over a default carts experiment; ``keep`` runs in the table."""
        self.keep = keep
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
        self.compare = widgets.Checkbox(
            value=self.base.lambda_baseline and self.base.app in BASELINE_APPS,
            description="compare with lambda baseline" + ("" if self.base.app in BASELINE_APPS else " (checkout only)"),
            disabled=self.base.app not in BASELINE_APPS,
            style=style,
        )
        self.button = widgets.Button(description="Run experiment", button_style="primary", icon="play")
        self.status = widgets.HTML("Set the controls and press <b>Run experiment</b>.")
        self.bar = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, layout=widgets.Layout(width="300px"))
        self.cluster_view = ClusterView()
        self.recovery = RecoveryProgress()
        self.verdicts = widgets.HTML()
        self.plots = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.history_table = widgets.HTML()
        controls = widgets.VBox(
            [self.seed, self.crash_rate, self.partition_rate, self.snapshot_every, self.workers, self.compare]
        )
        super().__init__(
            [
                widgets.HTML(f"<b>{html.escape(self.base.name)}</b> ({html.escape(self.base.app)})"),
                controls,
                widgets.HBox([self.button, self.bar, self.status]),
                self.cluster_view,
                self.recovery,
                self.verdicts,
                self.plots,
                self.history_table,
            ]
        )
        self.result: RunResult | None = None
        self.baseline: RunResult | None = None
        """The lambda baseline's run of the last experiment (when compared)."""
        self.history: list[RunRow] = []
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
            result, baseline = self._go(self.experiment())
        finally:
            self.button.disabled = False
        self._after(result, baseline)
        return result

    def start(self) -> LiveRun:
        """Run the experiment on a background thread (what the button does); the kernel stays free."""
        self._before()
        experiment = self.experiment()

        def target() -> RunResult:
            try:
                result, baseline = self._go(experiment)
            except Exception as error:
                self.status.value = f"<span style='color:#b91c1c'>The run failed: {html.escape(str(error))}</span>"
                raise
            finally:
                self.button.disabled = False
            self._after(result, baseline)
            return result

        self.live = LiveRun(target)
        return self.live

    def _go(self, experiment: Experiment) -> tuple[RunResult, RunResult | None]:
        """Run the experiment with the views watching, then the lambda baseline on the same plan if asked."""
        result = run_live(experiment, self.cluster_view, self.recovery, progress=self._progress)
        if not self.compare.value or self.compare.disabled:
            return result, None
        progress = self._progress
        baseline = run_live(
            experiment, variant="lambda", progress=lambda phase, done: progress(f"lambda baseline: {phase}", done)
        )
        return result, baseline

    def _before(self) -> None:
        self.button.disabled = True
        self.final_state = False
        self.bar.value = 0.0
        self.verdicts.value = ""
        for image in self.plots.children:  # closed, or each run would leave its images in the kernel
            image.close()
        self.plots.children = []
        self.status.value = "running..."

    def _progress(self, phase: str, fraction: float) -> None:
        self.bar.value = fraction
        self.status.value = html.escape(phase)

    def _after(self, result: RunResult, baseline: RunResult | None = None) -> None:
        self.result, self.baseline = result, baseline
        self.history = [*self.history, RunRow.of(result, baseline)][-self.keep :]
        self.bar.value = 1.0
        self.status.value = _headline(result) + (
            "" if baseline is None else f"; lambda baseline: {_headline(baseline)}"
        )
        self.verdicts.value = verdicts_html(result) + (
            "" if baseline is None else f"<b>lambda baseline</b>{verdicts_html(baseline)}"
        )
        self.plots.children = [_image(figure, width) for figure, width in _figures(result, baseline)]
        self.history_table.value = history_html(self.history)
        self.final_state = True
        self.update_displays()

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
        if self.baseline is not None:
            lines.append("  lambda baseline: " + _headline(self.baseline))
            lines += [f"  {'valid  ' if v.valid else 'INVALID'} {v.name}" for v in self.baseline.verdicts]
        if self.history:
            lines += ["  last runs:", *(f"    {line}" for line in history_text(self.history).splitlines())]
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


def history_html(rows: list[RunRow]) -> str:
    """The last runs as an HTML table, the newest last."""
    head = "".join(f"<th style='text-align:left'>{c}</th>" for c in COLUMNS)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in _cells(row)) + "</tr>" for row in rows)
    return f"<b>last runs</b><table><tr>{head}</tr>{body}</table>"


def history_text(rows: list[RunRow]) -> str:
    """The last runs as a text table."""
    table = [COLUMNS, *(tuple(str(v) for v in _cells(row)) for row in rows)]
    widths = [max(len(line[n]) for line in table) for n in range(len(COLUMNS))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in table)


def _cells(row: RunRow) -> tuple[object, ...]:
    return (row.seed, row.faults, row.acknowledged, row.p99, row.verdict, row.baseline)


def _fault_plan(result: RunResult) -> str:
    exp = result.experiment
    plan = [f"{len(exp.faults)} scripted"] if exp.faults else []
    if exp.random_faults and exp.random_faults.rates:
        plan += [f"{kind} {rate:g}/min" for kind, rate in sorted(exp.random_faults.rates.items())]
    return f"{', '.join(plan) or 'none'} ({len(result.faults)} applied)"


def _acknowledged(result: RunResult) -> str:
    return f"{result.summary.get('acknowledged', 0)} of {result.summary.get('operations', 0)}"


def _p99(result: RunResult) -> str:
    p99 = result.summary.get("latency_s", {}).get("p99")
    return "-" if p99 is None else f"{p99 * 1000:.0f} ms" if p99 < 1 else f"{p99:.2f} s"


def _figures(result: RunResult, baseline: RunResult | None) -> list[tuple[Figure, int]]:
    """The plots to show and the width to show each at: latency and recovery, or with a baseline
    the latencies side by side and the orders' outcomes."""
    from ..sim import plots

    duration = float(result.summary.get("simulated_seconds", result.cluster.env.now))
    metrics = result.cluster.metrics
    if baseline is None:
        return [
            (plots.latency_figure(metrics, duration), PLOT_WIDTH),
            (plots.recovery_figure(metrics, duration), PLOT_WIDTH),
        ]
    from ..sim.order_outcomes import both_sides

    figures = [(plots.latency_comparison_figure(metrics, baseline.cluster.metrics, duration), 3 * PLOT_WIDTH // 2)]
    outcomes = both_sides(result, baseline)
    if outcomes:
        figures.append((plots.outcome_figure(outcomes), PLOT_WIDTH))
    return figures


def _image(figure: Figure, width: int) -> widgets.Image:
    """The figure as a PNG with twice as many pixels as it is shown with."""
    dpi = round(2 * width / figure.get_figwidth())
    return widgets.Image(value=pictures.png(figure, dpi), format="png", layout=widgets.Layout(width=f"{width}px"))
