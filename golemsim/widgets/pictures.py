"""Static pictures of the views (PNG at twice the usual resolution), saved in a notebook's output
when a run ends, for viewers that draw no widgets (GitHub, a docs site). matplotlib's Figure and
its Agg canvas only: no pyplot, so nothing global changes and a background thread may draw."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

DPI = 200
"""Pixels per inch of a saved picture (twice the usual 100: sharp on high-density screens)."""
FONT = 8.0
CHAR_WIDTH, LINE_HEIGHT = 0.066, 0.15
"""Inches per character and per line of monospace text at FONT points."""


def png(figure: Figure, dpi: int = DPI, *, colors: int = 0) -> bytes:
    """The figure as PNG bytes (no time stamp in it: the same drawing gives the same bytes);
    with ``colors``, reduced to that many (a view's picture: a few times smaller in a notebook)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    if not colors:
        return buffer.getvalue()
    from PIL import Image

    with Image.open(io.BytesIO(buffer.getvalue())) as image:
        reduced = image.convert("RGB").quantize(colors)
    out = io.BytesIO()
    reduced.save(out, format="png", optimize=True)
    return out.getvalue()


def width_hint(data: bytes, dpi: int = DPI) -> dict[str, int]:
    """Display metadata for a picture: its width in CSS pixels (drawn at 100 per inch)."""
    width = int.from_bytes(data[16:20], "big")  # the PNG header's width field
    return {"width": round(width * 100 / dpi)}


def text_figure(text: str, *, top: float = 0.0, width: float | None = None) -> Figure:
    """A figure showing ``text`` in monospace, below ``top`` inches left for a drawing."""
    lines = text.splitlines() or [""]
    width = max(width or 0.0, 0.4 + CHAR_WIDTH * max(len(line) for line in lines))
    height = top + 0.2 + LINE_HEIGHT * len(lines)
    figure = Figure(figsize=(width, height))
    figure.text(0.1 / width, 1 - (top + 0.1) / height, text, family="monospace", fontsize=FONT, va="top")
    return figure


VIEW_COLORS = 48
"""Colours in a view's picture (its text, states and kinds need no more)."""


def text_png(text: str) -> bytes:
    return png(text_figure(text), colors=VIEW_COLORS)


def cluster_png(
    text: str,
    positions: Mapping[str, Sequence[float]],
    nodes: Sequence[Mapping[str, Any]],
    owners: Sequence[str],
    workers: Sequence[Mapping[str, Any]],
    colors: Mapping[str, Mapping[str, str]],
) -> bytes:
    """The cluster graph (nodes inside, shards, workers outside, coloured by state) over its text."""
    size = 3.6
    figure = text_figure(text, top=size, width=size + 2.2)
    height = figure.get_figheight()
    ax = figure.add_axes((0.05 / figure.get_figwidth(), 1 - size / height, size / figure.get_figwidth(), size / height))
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(1.15, -1.15)  # y down, as in the page
    ax.set_axis_off()

    def at(name: str) -> tuple[float, float]:
        x, y = positions.get(name, (0.0, 0.0))
        return float(x), float(y)

    for worker in workers:
        (x1, y1), (x2, y2) = at(f"shard-{worker['shard']}"), at(str(worker["name"]))
        ax.plot([x1, x2], [y1, y2], color="#e5e7eb", lw=0.6, zorder=1)
    for shard, owner in enumerate(owners):
        if owner:
            (x1, y1), (x2, y2) = at(owner), at(f"shard-{shard}")
            ax.plot([x1, x2], [y1, y2], color="#94a3b8", lw=0.8, zorder=1)
    worker_colors, node_colors = colors["workers"], colors["nodes"]
    for worker in workers:
        ax.scatter(*at(str(worker["name"])), s=14, color=worker_colors.get(str(worker["status"]), "#94a3b8"), zorder=3)
    for shard, owner in enumerate(owners):
        ax.scatter(*at(f"shard-{shard}"), s=30, marker="s", color="#e0e7ff" if owner else "#fee2e2", ec="#6366f1")
    for node in nodes:
        x, y = at(str(node["name"]))
        ax.scatter(x, y, s=420, color=node_colors.get(str(node["state"]), "#9ca3af"), ec="white", zorder=4)
        ax.text(x, y, str(node["name"]), ha="center", va="center", fontsize=5.5, color="white", zorder=5)
    seen = sorted({str(w["status"]) for w in workers})
    for row, (label, color) in enumerate(
        [
            *((f"node {s}", node_colors[s]) for s in sorted({str(n["state"]) for n in nodes}) if s in node_colors),
            *((f"worker {s}", worker_colors[s]) for s in seen if s in worker_colors),
        ]
    ):
        figure.text(
            (size + 0.15) / figure.get_figwidth(),
            1 - (0.3 + 0.18 * row) / height,
            f"\u25cf {label}",
            color=color,
            fontsize=FONT,
        )
    return png(figure, colors=VIEW_COLORS)


def oplog_png(text: str, entries: Sequence[Mapping[str, Any]], colors: Mapping[str, str]) -> bytes:
    """The oplog as a strip of entries (a colour per kind; red bar: a crash cut the log after the
    entry; amber underline: replayed; green triangle: the first new entry after replay) over its text."""
    strip = 0.55
    figure = text_figure(text, top=strip, width=0.6 + 0.09 * len(entries))
    ax = figure.add_axes(
        (
            0.1 / figure.get_figwidth(),
            1 - strip / figure.get_figheight(),
            1 - 0.2 / figure.get_figwidth(),
            (strip - 0.1) / figure.get_figheight(),
        )
    )
    ax.set_xlim(-0.5, max(len(entries), 1) - 0.5)
    ax.set_ylim(-0.6, 1.2)
    ax.set_axis_off()
    for n, entry in enumerate(entries):
        marks = entry.get("m", [])
        ax.bar(n, 1, width=0.8, color=colors.get(str(entry["k"]), "#94a3b8"))
        if "replayed" in marks:
            ax.plot([n - 0.45, n + 0.45], [-0.2, -0.2], color="#f59e0b", lw=2)
        if "cut" in marks:
            ax.plot([n + 0.5, n + 0.5], [-0.1, 1.15], color="#dc2626", lw=2, zorder=3)
        if "resumed" in marks:
            ax.plot([n], [-0.45], marker="^", color="#16a34a", markersize=5)
    return png(figure, colors=VIEW_COLORS)
