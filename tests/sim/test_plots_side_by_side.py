"""The plots read alone: legends below the axes (never over the data), recovery times in ms from
zero, time axes that end where the data ends, and the two sides of a run next to each other."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure

from golemsim.sim import plots
from golemsim.sim.metrics import Metrics, Recovery
from golemsim.sim.order_outcomes import Order, OrderOutcomes

DURATION = 20.0
"""When the run settled: after its last operation, before the checker read the final states."""


def workers() -> Metrics:
    m = Metrics()
    m.latencies = [(0.5, 0.3, "ok"), (4.0, 3.4, "ok"), (7.5, 5.0, "timeout"), (9.0, 0.3, "ok")]
    m.recoveries = [
        Recovery(4.1, "w-1", "node-1", "resume", 1, 12, 0.0071),
        Recovery(9.2, "w-2", "node-2", "full", 2, 30, 0.0065),
    ]
    m.queues = [(1.0, "node-1", 2), (5.0, "node-1", 0), (25.0, "node-1", 3)]  # the last: the checker reading states
    m.node_state(2.0, "node-1", "crashed")
    m.node_state(5.5, "node-1", "up")
    m.node_state(0.0, "node-2", "up")
    m.fault("crash", "node-1", 2.0, 5.5)
    m.fault("crash", "node-2", 6.5, 9.0)
    return m


def lambdas() -> Metrics:
    m = Metrics()
    m.latencies = [(0.4, 0.22, "ok"), (4.8, 3.0, "error"), (8.0, 0.23, "ok")]
    m.fault("crash", "node-1", 2.0, 5.5)
    m.fault("crash", "node-2", 6.5, 9.0)
    return m


def orders() -> list[OrderOutcomes]:
    def order(n: int, category: str) -> Order:
        return Order(f"order-{n}", f"checkout-{n}", "ok", 1.0, 1.0, category)

    return [
        OrderOutcomes("workers", [order(n, "whole") for n in range(598)] + [order(598, "whole-client-gave-up")] * 2),
        OrderOutcomes(
            "lambdas",
            [order(n, "whole") for n in range(597)] + [order(597, "half-done")] * 2 + [order(599, "not-done")],
        ),
    ]


def every_figure() -> list[Figure]:
    figures = [build(workers(), DURATION) for build in plots.FIGURES.values()]
    return [*figures, plots.latency_comparison_figure(workers(), lambdas(), DURATION), plots.outcome_figure(orders())]


def test_legends_sit_below_the_axes_never_over_the_data() -> None:
    for fig in every_figure():
        assert all(ax.get_legend() is None for ax in fig.axes), fig.axes[0].get_title()
        (legend,) = fig.legends
        fig.draw_without_rendering()
        box = legend.get_window_extent()
        assert all(box.y1 <= ax.get_window_extent().y0 for ax in fig.axes), fig.axes[0].get_title()


def test_fault_windows_are_labelled_by_node_after_the_data() -> None:
    fig = plots.node_state_figure(workers(), DURATION)
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels == ["up", "crashed", "crash node-1", "crash node-2"]


def test_recovery_times_are_in_ms_from_zero() -> None:
    fig = plots.recovery_figure(workers(), DURATION)
    for ax in fig.axes:
        assert ax.get_ylabel() == "recovery time (ms)"
        assert ax.get_ylim()[0] == 0
        ys = sorted(y for collection in ax.collections for _, y in collection.get_offsets())
        assert ys == pytest.approx([6.5, 7.1])


def test_time_axes_end_where_the_data_ends() -> None:
    end = 9.2  # the last recovery; the queue sample at 25 s is after the run (DURATION is when it settled)
    assert plots.data_end(workers(), DURATION) == end
    for fig in every_figure()[:5]:
        left, right = fig.axes[0].get_xlim()
        assert left == 0 and right == pytest.approx(end * (1 + plots.PAD)), fig.axes[0].get_title()


def test_the_sides_share_the_latency_scale_and_every_count_is_labelled() -> None:
    fig = plots.latency_comparison_figure(workers(), lambdas(), DURATION)
    left, right = fig.axes
    assert left.get_ylim() == right.get_ylim() and left.get_xlim() == right.get_xlim()
    assert left.get_title().startswith("workers:") and right.get_title().startswith("lambdas:")
    bars = plots.outcome_figure(orders())
    counts = [text.get_text() for text in bars.axes[1].texts]  # the zoom: every category but "whole"
    assert counts == ["2", "0", "0", "0", "2", "1"]


def test_save_all_adds_the_side_by_side_figures_sharply(tmp_path: Path) -> None:
    paths = plots.save_all(workers(), DURATION, tmp_path, baseline=lambdas(), orders=orders())
    assert [p.name for p in paths][-2:] == ["orders.png", "latency-compare.png"]
    for path in paths:
        width, height = struct.unpack(">II", path.read_bytes()[16:24])
        assert width >= 9 * 150 and height >= 3.5 * 150, path.name
    assert [p.name for p in plots.save_all(workers(), DURATION, tmp_path / "alone")] == list(plots.FIGURES)
