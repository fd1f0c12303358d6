"""Plain-text tables for the command line, each column as wide as its widest cell."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

GAP = "  "


def table_lines(header: Sequence[str], rows: Iterable[Sequence[object]], *, right: Collection[int] = ()) -> list[str]:
    """The header line, then one line per row: every column sized to its content (header included),
    two spaces apart; the columns numbered in ``right`` (counts, sizes) aligned right, the others
    left. No line ends in spaces."""
    cells = [[str(cell) for cell in row] for row in rows]
    for row in cells:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells for {len(header)} columns: {row}")
    widths = [max([len(name), *(len(row[n]) for row in cells)]) for n, name in enumerate(header)]

    def line(row: Sequence[str]) -> str:
        return GAP.join(
            cell.rjust(width) if n in right else cell.ljust(width)
            for n, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return [line(list(header)), *(line(row) for row in cells)]
