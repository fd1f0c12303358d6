"""Matplotlib figures for a run's metrics: latency, throughput, recoveries, queues, node states.

Figures are built with ``matplotlib.figure.Figure`` directly, so nothing is registered with
pyplot and no GUI backend is needed. Every time axis shades the run's fault windows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from golemsim.sim.metrics import Metrics

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


def _figure(rows: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=(9, 3.5 * rows), layout="constrained")
    return fig, [fig.add_subplot(rows, 1, i + 1) for i in range(rows)]


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="gray")


def _finish(ax: Axes, metrics: Metrics, duration: float) -> None:
    """Shade fault windows (one legend entry per kind), fix the x range and add the legend."""
    kinds = sorted({f.kind for f in metrics.faults})
    colours = {kind: FAULT_PALETTE[i % len(FAULT_PALETTE)] for i, kind in enumerate(kinds)}
    labelled: set[str] = set()
    for f in metrics.faults:
        end = duration if f.end is None else f.end
        label = "_nolegend_" if f.kind in labelled else f"fault: {f.kind}"
        labelled.add(f.kind)
        ax.axvspan(f.start, max(end, f.start), alpha=0.15, zorder=0, color=colours[f.kind], label=label, linewidth=0)
    if duration > 0:
        ax.set_xlim(0, duration)
    ax.set_xlabel("simulated time (s)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize="small")


def latency_figure(metrics: Metrics, duration: float) -> Figure:
    """Latency of each client operation against its completion time, coloured by outcome."""
    fig, (ax,) = _figure()
    ax.set_title("operation latency")
    ax.set_ylabel("latency (s)")
    outcomes = list(OUTCOME_COLOURS) + sorted({o for _, _, o in metrics.latencies} - set(OUTCOME_COLOURS))
    for outcome in outcomes:
        points = [(t, lat) for t, lat, o in metrics.latencies if o == outcome]
        if points:
            xs, ys = zip(*points, strict=True)
            colour = OUTCOME_COLOURS.get(outcome, OTHER_COLOUR)
            ax.scatter(xs, ys, s=8, color=colour, label=f"{outcome} ({len(points)})")
    positive = [lat for _, lat, _ in metrics.latencies if lat > 0]
    if positive and max(positive) / min(positive) > 100:
        ax.set_yscale("log")
    if not metrics.latencies:
        _no_data(ax)
    _finish(ax, metrics, duration)
    return fig


def throughput_figure(metrics: Metrics, duration: float) -> Figure:
    """Acknowledged (ok) operations per second over time, in about 60 bins of at least 0.1 s."""
    fig, (ax,) = _figure()
    ax.set_title("throughput (acknowledged operations)")
    ax.set_ylabel("ops / s")
    if metrics.latencies and duration > 0:
        width = max(duration / 60, 0.1)
        bins = max(1, math.ceil(duration / width))
        counts = [0] * bins
        for t, _, outcome in metrics.latencies:
            if outcome == "ok":
                counts[min(bins - 1, max(0, int(t / width)))] += 1
        edges = [i * width for i in range(bins + 1)]
        ax.stairs([c / width for c in counts], edges, fill=True, alpha=0.6, color="tab:green", label="ok / s")
    else:
        _no_data(ax)
    _finish(ax, metrics, duration)
    return fig


def recovery_figure(metrics: Metrics, duration: float) -> Figure:
    """Recovery time against when it finished, and recovery time against replayed entries."""
    fig, (ax, ax2) = _figure(rows=2)
    ax.set_title("recoveries")
    ax.set_ylabel("recovery time (s)")
    ax2.set_xlabel("replayed oplog entries")
    ax2.set_ylabel("recovery time (s)")
    real = [r for r in metrics.recoveries if r.invocations or r.entries]
    for mode in sorted({r.mode for r in real}):
        chosen = [r for r in real if r.mode == mode]
        marker, label = MODE_MARKERS.get(mode, "s"), f"{mode} ({len(chosen)})"
        ax.scatter([r.at for r in chosen], [r.seconds for r in chosen], marker=marker, s=18, label=label)
        ax2.scatter([r.entries for r in chosen], [r.seconds for r in chosen], marker=marker, s=18, label=label)
    if real:
        ax2.legend(loc="upper left", fontsize="small")
    else:
        _no_data(ax)
        _no_data(ax2)
    _finish(ax, metrics, duration)
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
    if not metrics.queues:
        _no_data(ax)
    _finish(ax, metrics, duration)
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
    return fig


FIGURES: dict[str, Callable[[Metrics, float], Figure]] = {
    "latency.png": latency_figure,
    "throughput.png": throughput_figure,
    "recovery.png": recovery_figure,
    "queues.png": queue_figure,
    "nodes.png": node_state_figure,
}


def save_all(metrics: Metrics, duration: float, folder: Path) -> list[Path]:
    """Write every figure as a PNG into ``folder`` (created if missing) and return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, build in FIGURES.items():
        path = folder / name
        build(metrics, duration).savefig(path, dpi=100, format="png")
        paths.append(path)
    return paths
