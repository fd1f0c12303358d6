"""Matplotlib figures for a run's metrics: latency, throughput, recoveries, queues, node states.

Figures are built with ``matplotlib.figure.Figure`` directly, so nothing is registered with
pyplot and no GUI backend is needed. Every time axis shades the run's fault windows, labelled
by kind and node ("crash node-1"), and ends where the data ends; legends sit below the axes,
never over the data. With the lambda baseline, two more figures set the sides next to each
other: orders by outcome, and latency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from golemsim.sim.metrics import Metrics
from golemsim.sim.order_outcomes import CATEGORIES, LABELS, OrderOutcomes
from golemsim.sim.report import seconds

OUTCOME_COLOURS = {"ok": "tab:green", "error": "tab:red", "timeout": "tab:orange"}
STATE_COLOURS = {
    "up": "tab:green",
    "crashed": "tab:red",
    "draining": "tab:olive",
    "upgrading": "tab:blue",
    "restarting": "tab:orange",
}
FAULT_PALETTE = ["tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray", "tab:cyan", "tab:olive", "tab:blue"]
OTHER_COLOUR = "tab:gray"
MODE_MARKERS = {"snapshot": "o", "full": "^"}
SIDE_COLOURS = {"workers": "tab:blue", "lambdas": "tab:orange"}
DPI = 200
"""PNGs are drawn at 200 dots per inch (a 9-inch figure is 1800 pixels wide)."""
FAULT_GID = "fault-window"
"""The gid of a fault window's shading (the legend lists those last)."""
PAD = 0.02
"""Room left after the last data point, as a fraction of the x range."""


def _figure(rows: int = 1, cols: int = 1, *, sharey: bool = False) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(9 if cols == 1 else 11, 3.5 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, cols, sharey=sharey, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="gray")


def data_end(metrics: Metrics, duration: float) -> float:
    """Where a time axis ends: the last thing that happened (a latency, a recovery, a node state
    change, a fault's end, a queue that was not empty before ``duration``), or ``duration`` when
    nothing did or a fault lasts to the end of the run."""
    times = [t for t, _, _ in metrics.latencies]
    times += [r.at for r in metrics.recoveries]
    times += [t for t, _, _ in metrics.node_states]
    times += [duration if f.end is None else max(f.start, f.end) for f in metrics.faults]  # open: to the end
    times += [t for t, _, q in metrics.queues if q and t <= duration]  # not the checker's reads after the run
    return max(times) if times else duration


def _fault_label(kind: str, target: str) -> str:
    return f"{kind} {target}" if target else kind


def _finish(ax: Axes, metrics: Metrics, duration: float, end: float | None = None) -> None:
    """Shade fault windows (one legend entry per kind and target, e.g. "crash node-1") and trim
    the x range to the data (to ``end`` when given); open faults run to ``duration``."""
    right = data_end(metrics, duration) if end is None else end
    right = right * (1 + PAD) if right > 0 else duration
    labels = sorted({_fault_label(f.kind, f.target) for f in metrics.faults})
    colours = {label: FAULT_PALETTE[i % len(FAULT_PALETTE)] for i, label in enumerate(labels)}
    labelled: set[str] = set()
    for f in metrics.faults:
        label = _fault_label(f.kind, f.target)
        stop = min(duration if f.end is None else f.end, right) if right > 0 else f.end or f.start
        shown = "_nolegend_" if label in labelled else label
        labelled.add(label)
        band = ax.axvspan(f.start, max(stop, f.start), alpha=0.15, zorder=0, color=colours[label], label=shown, lw=0)
        band.set_gid(FAULT_GID)
    if right > 0:
        ax.set_xlim(0, right)
    ax.set_xlabel("simulated time (s)")


def _legend(fig: Figure) -> None:
    """One legend for the whole figure, below the axes (never over the data): each label once,
    the data's first and the fault windows' last."""
    handles: dict[str, Any] = {}
    faults: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            (faults if getattr(handle, "get_gid", lambda: None)() == FAULT_GID else handles).setdefault(label, handle)
    handles.update((label, handle) for label, handle in faults.items() if label not in handles)
    if handles:
        columns = min(len(handles), 6)
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=columns, fontsize="small")


def _scatter_latencies(ax: Axes, metrics: Metrics) -> None:
    outcomes = list(OUTCOME_COLOURS) + sorted({o for _, _, o in metrics.latencies} - set(OUTCOME_COLOURS))
    for outcome in outcomes:
        points = [(t, lat) for t, lat, o in metrics.latencies if o == outcome]
        if points:
            xs, ys = zip(*points, strict=True)
            colour = OUTCOME_COLOURS.get(outcome, OTHER_COLOUR)
            ax.scatter(xs, ys, s=8, color=colour, label=outcome)
    if not metrics.latencies:
        _no_data(ax)


def _log_if_spread(ax: Axes, latencies: list[float]) -> None:
    positive = [lat for lat in latencies if lat > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")


def latency_figure(metrics: Metrics, duration: float) -> Figure:
    """Latency of each client operation against its completion time, coloured by outcome."""
    fig, (ax,) = _figure()
    ax.set_title("operation latency")
    ax.set_ylabel("latency (s)")
    _scatter_latencies(ax, metrics)
    _log_if_spread(ax, [lat for _, lat, _ in metrics.latencies])
    _finish(ax, metrics, duration)
    _legend(fig)
    return fig


def latency_comparison_figure(workers: Metrics, lambdas: Metrics, duration: float) -> Figure:
    """The workers' latencies next to the lambda baseline's, on the same axes' scales."""
    fig, axes = _figure(cols=2, sharey=True)
    end = max(data_end(workers, duration), data_end(lambdas, duration))
    for ax, (side, metrics) in zip(axes, (("workers", workers), ("lambdas", lambdas)), strict=True):
        ok = sorted(lat for _, lat, o in metrics.latencies if o == "ok")
        p99 = f", p99 {seconds(ok[min(len(ok) - 1, int(0.99 * len(ok)))])}" if ok else ""
        others = len(metrics.latencies) - len(ok)
        ax.set_title(f"{side}: {len(ok)} ok, {others} not{p99}")
        _scatter_latencies(ax, metrics)
        _finish(ax, metrics, duration, end)
    axes[0].set_ylabel("latency (s)")
    _log_if_spread(axes[0], [lat for m in (workers, lambdas) for _, lat, _ in m.latencies])
    _legend(fig)
    return fig


def outcome_figure(orders: Sequence[OrderOutcomes]) -> Figure:
    """Orders by outcome, a bar per side in each category, each labelled with its count; on the
    right the categories other than "completed whole" again, on their own scale (so that 2
    half-done orders of 600 show)."""
    fig, (ax, zoom) = _figure(cols=2)
    fig.suptitle("what became of each order (same fault plan)")
    ax.set_title("every order")
    zoom.set_title("orders not completed whole for their client")
    ax.set_ylabel("orders")
    _outcome_bars(ax, orders, CATEGORIES)
    _outcome_bars(zoom, orders, CATEGORIES[1:])
    ax.set_ylim(0, max([len(o.orders) for o in orders] or [1]) * 1.12)
    zoom.set_ylim(0, max([o.counts()[c] for o in orders for c in CATEGORIES[1:]] + [4]) * 1.15)
    zoom.yaxis.set_major_locator(MaxNLocator(integer=True))
    if not orders:
        _no_data(ax)
    _legend(fig)
    return fig


def _outcome_bars(ax: Axes, orders: Sequence[OrderOutcomes], categories: Sequence[str]) -> None:
    width = 0.8 / max(len(orders), 1)
    for i, outcomes in enumerate(orders):
        counts = outcomes.counts()
        xs = [c + (i - (len(orders) - 1) / 2) * width for c in range(len(categories))]
        colour = SIDE_COLOURS.get(outcomes.side, OTHER_COLOUR)
        label = f"{outcomes.side} ({len(outcomes.orders)} orders)"
        bars = ax.bar(xs, [counts[c] for c in categories], width, label=label, color=colour)
        ax.bar_label(bars, padding=2, fontsize="small")
    names = {**LABELS, "whole-client-gave-up": "completed,\nclient gave up\nor got an error"}
    ax.set_xticks(range(len(categories)), [names[c].replace(" (", "\n(") for c in categories], fontsize="small")


def throughput_figure(metrics: Metrics, duration: float) -> Figure:
    """Acknowledged (ok) operations per second over time, in about 60 bins of at least 0.1 s."""
    fig, (ax,) = _figure()
    ax.set_title("throughput (acknowledged operations)")
    ax.set_ylabel("ops / s")
    end = data_end(metrics, duration)
    if metrics.latencies and end > 0:
        width = max(end / 60, 0.1)
        bins = max(1, math.ceil(end / width))
        counts = [0] * bins
        for t, _, outcome in metrics.latencies:
            if outcome == "ok":
                counts[min(bins - 1, max(0, int(t / width)))] += 1
        edges = [i * width for i in range(bins + 1)]
        ax.stairs([c / width for c in counts], edges, fill=True, alpha=0.6, color="tab:green", label="ok / s")
    else:
        _no_data(ax)
    _finish(ax, metrics, duration)
    _legend(fig)
    return fig


def recovery_figure(metrics: Metrics, duration: float) -> Figure:
    """Recovery time (ms, from zero) against when it finished, and against replayed entries."""
    fig, (ax, ax2) = _figure(rows=2)
    ax.set_title("recoveries")
    ax.set_ylabel("recovery time (ms)")
    ax2.set_xlabel("replayed oplog entries")
    ax2.set_ylabel("recovery time (ms)")
    real = [r for r in metrics.recoveries if r.invocations or r.entries]
    for mode in sorted({r.mode for r in real}):
        chosen = [r for r in real if r.mode == mode]
        marker, label = MODE_MARKERS.get(mode, "s"), f"{mode} ({len(chosen)})"
        ms = [r.seconds * 1000 for r in chosen]
        ax.scatter([r.at for r in chosen], ms, marker=marker, s=18, label=label)
        ax2.scatter([r.entries for r in chosen], ms, marker=marker, s=18, label=label)
    if real:
        top = max(r.seconds for r in real) * 1000 * 1.1 or 1.0
        for axes in (ax, ax2):
            axes.set_ylim(0, top)
        ax2.set_xlim(0, max(r.entries for r in real) * (1 + PAD) or 1)
    else:
        _no_data(ax)
        _no_data(ax2)
        ax.set_ylim(bottom=0)
        ax2.set_ylim(bottom=0)
    _finish(ax, metrics, duration)
    _legend(fig)
    return fig


def queue_figure(metrics: Metrics, duration: float) -> Figure:
    """Invocations queued per node over time, as step lines."""
    fig, (ax,) = _figure()
    ax.set_title("queue length per node")
    ax.set_ylabel("invocations queued")
    for node in sorted({n for _, n, _ in metrics.queues}):
        samples = sorted(((t, q) for t, n, q in metrics.queues if n == node), key=lambda s: s[0])
        xs, ys = [t for t, _ in samples], [q for _, q in samples]
        if duration > xs[-1]:
            xs.append(duration)
            ys.append(ys[-1])
        ax.step(xs, ys, where="post", label=node)
    ax.set_ylim(bottom=0)
    if not metrics.queues:
        _no_data(ax)
    _finish(ax, metrics, duration)
    _legend(fig)
    return fig


def node_state_figure(metrics: Metrics, duration: float) -> Figure:
    """A timeline per node, one colour per state; nodes start "up" at t=0."""
    fig, (ax,) = _figure()
    ax.set_title("node states")
    nodes = sorted({n for _, n, _ in metrics.node_states})
    end_of_run = max([duration, *(t for t, _, _ in metrics.node_states)])
    seen: set[str] = set()
    for row, node in enumerate(nodes):
        changes = sorted(((t, s) for t, n, s in metrics.node_states if n == node), key=lambda c: c[0])
        points = [(0.0, "up"), *changes, (end_of_run, "")]
        for (start, state), (stop, _) in pairwise(points):
            if stop <= start:
                continue
            label = "_nolegend_" if state in seen else state
            seen.add(state)
            colour = STATE_COLOURS.get(state, OTHER_COLOUR)
            ax.broken_barh([(start, stop - start)], (row - 0.4, 0.8), facecolors=colour, label=label)
    ax.set_yticks(range(len(nodes)), nodes)
    ax.set_ylim(-0.6, max(len(nodes), 1) - 0.4)
    if not nodes:
        _no_data(ax)
    _finish(ax, metrics, duration)
    _legend(fig)
    return fig


FIGURES: dict[str, Callable[[Metrics, float], Figure]] = {
    "latency.png": latency_figure,
    "throughput.png": throughput_figure,
    "recovery.png": recovery_figure,
    "queues.png": queue_figure,
    "nodes.png": node_state_figure,
}
"""The figures of one run's metrics (the workers')."""


def save_all(
    metrics: Metrics,
    duration: float,
    folder: Path,
    *,
    baseline: Metrics | None = None,
    orders: Sequence[OrderOutcomes] = (),
) -> list[Path]:
    """Write every figure as a PNG into ``folder`` (created if missing) and return the paths: the
    run's own figures, then ``orders.png`` when its clients placed orders, and
    ``latency-compare.png`` when the lambda baseline's metrics are given."""
    folder.mkdir(parents=True, exist_ok=True)
    figures: list[tuple[str, Callable[[], Figure]]] = [
        (name, partial(build, metrics, duration)) for name, build in FIGURES.items()
    ]
    if orders:
        figures.append(("orders.png", lambda: outcome_figure(orders)))
    if baseline is not None:
        figures.append(("latency-compare.png", lambda: latency_comparison_figure(metrics, baseline, duration)))
    paths = []
    for name, build in figures:
        path = folder / name
        build().savefig(path, dpi=DPI, format="png")
        paths.append(path)
    return paths
