"""The plot helpers turn a run's metrics into PNG figures, shading fault windows, and cope with empty runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle, StepPatch

from golemsim.sim import plots
from golemsim.sim.metrics import Metrics, Recovery

DURATION = 10.0


def sample_metrics() -> Metrics:
    m = Metrics()
    m.latencies = [
        (0.5, 0.010, "ok"),
        (1.2, 0.012, "ok"),
        (3.4, 0.020, "ok"),
        (7.9, 0.015, "ok"),
        (2.1, 0.300, "error"),
        (5.0, 0.250, "error"),
        (4.5, 2.000, "timeout"),
        (6.2, 2.000, "timeout"),
    ]
    m.recoveries = [
        Recovery(3.0, "w-1", "node-a", "full", 4, 120, 0.8),
        Recovery(6.5, "w-2", "node-b", "snapshot", 2, 10, 0.1),
        Recovery(7.0, "w-3", "node-b", "full", 0, 0, 0.0),  # nothing to rebuild: not a real recovery
    ]
    m.queues = [(0.0, "node-a", 0), (1.0, "node-a", 3), (4.0, "node-a", 1), (0.5, "node-b", 2), (6.0, "node-b", 0)]
    m.node_state(2.0, "node-a", "crashed")
    m.node_state(3.0, "node-a", "restarting")
    m.node_state(3.5, "node-a", "up")
    m.node_state(0.0, "node-b", "up")
    m.fault("partition", "node-a", 2.0, 4.0)
    m.fault("slow-disk", "node-b", 8.0, None)
    return m


def fault_spans(fig: Figure) -> set[tuple[float, float]]:
    """The x-ranges of the axvspan rectangles on a figure's first axes."""
    ax = fig.axes[0]
    spans = set()
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_alpha() == pytest.approx(0.15):
            x0 = patch.get_x()
            spans.add((round(x0, 6), round(x0 + patch.get_width(), 6)))
    return spans


def test_save_all_writes_pngs(tmp_path: Path) -> None:
    paths = plots.save_all(sample_metrics(), DURATION, tmp_path / "out")
    names = ["latency.png", "throughput.png", "recovery.png", "queues.png", "nodes.png"]
    assert [p.name for p in paths] == names
    for path in paths:
        assert path.is_file()
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG")
        assert len(data) > 5_000


@pytest.mark.parametrize(
    "build",
    [plots.latency_figure, plots.throughput_figure, plots.recovery_figure, plots.queue_figure, plots.node_state_figure],
)
def test_fault_windows_are_shaded(build: Callable[[Metrics, float], Figure]) -> None:
    fig = build(sample_metrics(), DURATION)
    assert isinstance(fig, Figure)
    # The open-ended fault runs to the end of the run.
    assert {(2.0, 4.0), (8.0, DURATION)} <= fault_spans(fig)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels.count("partition node-a") == 1  # labelled by kind and node
    assert labels.count("slow-disk node-b") == 1


def test_only_real_recoveries_are_plotted() -> None:
    fig = plots.recovery_figure(sample_metrics(), DURATION)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "full (1)" in labels
    assert "snapshot (1)" in labels


def test_throughput_counts_only_acknowledged_operations() -> None:
    fig = plots.throughput_figure(sample_metrics(), DURATION)
    (stairs,) = [p for p in fig.axes[0].patches if isinstance(p, StepPatch)]
    values, edges, _ = stairs.get_data()
    width = edges[1] - edges[0]
    assert width == pytest.approx(max(DURATION / 60, 0.1))
    assert sum(values) * width == pytest.approx(4)


def test_node_timeline_starts_up_and_follows_transitions() -> None:
    fig = plots.node_state_figure(sample_metrics(), DURATION)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {"up", "crashed", "restarting"} <= set(labels)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["node-a", "node-b"]


def test_empty_metrics_still_give_figures(tmp_path: Path) -> None:
    empty = Metrics()
    for build in plots.FIGURES.values():
        fig = build(empty, DURATION)
        assert isinstance(fig, Figure)
        assert any(t.get_text() == "no data" for ax in fig.axes for t in ax.texts)
    for path in plots.save_all(empty, 0.0, tmp_path):
        assert path.read_bytes().startswith(b"\x89PNG")
