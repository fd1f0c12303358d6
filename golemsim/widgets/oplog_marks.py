"""Marks on one worker's oplog: where a crash cut it (the last entry written before its node went
down), which entries a rebuild replayed, and the first new entry once replay had caught up."""

from __future__ import annotations

from dataclasses import dataclass

CUT, REPLAYED, RESUMED = "cut", "replayed", "resumed"
"""The marks an entry can carry."""


@dataclass
class Replay:
    """One rebuild's replay: entries ``first`` .. ``end``, replayed up to ``upto`` so far."""

    first: int
    upto: int
    end: int
    node: str
    time: float

    @property
    def done(self) -> bool:
        return self.upto >= self.end


class Marks:
    """The marks of one worker's oplog, noted from a run's events."""

    def __init__(self) -> None:
        self.cuts: dict[int, str] = {}
        """Index of the last entry before a crash -> what crashed, and when."""
        self.replays: list[Replay] = []
        self.resumed: dict[int, str] = {}
        """Index of the first entry appended after a replay -> which replay."""
        self._when: dict[tuple[str, int], float] = {}
        self._open: Replay | None = None
        self._caught_up: Replay | None = None

    def cut(self, index: int, what: str, time: float) -> None:
        """The worker's node went down (``what``) after entry ``index`` was written."""
        self.cuts[index] = f"{self.cuts[index]}; {what}" if index in self.cuts else what
        self._when.setdefault((CUT, index), time)

    def replay(self, index: int, end: int, node: str, time: float) -> None:
        """A rebuild on ``node`` has replayed up to ``index`` of ``end`` (its first report is the start - 1)."""
        span = self._open
        if span is None or index < span.upto or end != span.end or node != span.node:
            span = self._open = Replay(index + 1, index, end, node, round(time, 3))
            self.replays.append(span)
        span.upto = index
        if span.done:
            self._open, self._caught_up = None, span

    def appended(self, first: int, time: float) -> None:
        """Entries from ``first`` on were appended: the first after a finished replay is marked."""
        span = self._caught_up
        if span is not None and first > span.end:
            self.resumed[first] = f"first new entry after the replay on {span.node} (t={round(time, 3):g}s)"
            self._when[(RESUMED, first)] = time
            self._caught_up = None

    def of(self, index: int) -> tuple[str, ...]:
        """The marks of entry ``index``, in the order CUT, REPLAYED, RESUMED."""
        marks = []
        if index in self.cuts:
            marks.append(CUT)
        if any(span.first <= index <= span.upto for span in self.replays):
            marks.append(REPLAYED)
        if index in self.resumed:
            marks.append(RESUMED)
        return tuple(marks)

    def notes(self) -> dict[int, str]:
        """Index -> why it is marked (only marked entries)."""
        notes: dict[int, list[str]] = {}
        for index, what in self.cuts.items():
            notes.setdefault(index, []).append(f"the last entry before the crash: {what}")
        for span in self.replays:
            for index in range(span.first, span.upto + 1):
                notes.setdefault(index, []).append(f"replayed on {span.node} (t={span.time:g}s)")
        for index, what in self.resumed.items():
            notes.setdefault(index, []).append(what)
        return {index: "; ".join(dict.fromkeys(texts)) for index, texts in sorted(notes.items())}

    def summary(self) -> list[str]:
        """A line per crash cut, replay and resumption, in the order they happened."""
        lines = [(self._when[(CUT, i)], f"crash cut after #{i}: {what}") for i, what in self.cuts.items()]
        for span in self.replays:
            if span.upto >= span.first:
                state = "" if span.done else f" (stopped at #{span.upto} of #{span.end})"
                lines.append(
                    (
                        span.time,
                        f"replay took over: #{span.first}-#{span.upto} replayed on {span.node} "
                        f"(t={span.time:g}s){state}",
                    )
                )
        lines += [(self._when[(RESUMED, i)], f"#{i}: {what}") for i, what in self.resumed.items()]
        return [text for _, text in sorted(lines, key=lambda line: line[0])]
