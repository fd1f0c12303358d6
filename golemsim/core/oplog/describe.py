"""One line per oplog entry, for people: used by ``golemsim oplog`` and the oplog view."""

from __future__ import annotations

import json

from .entries import Checkpoint, OplogEntry, UpdateFailed


def describe_entry(entry: OplogEntry, omit: tuple[str, ...] = ()) -> str:
    """One line for ``golemsim oplog`` (without the fields in ``omit``): the entry's own description,
    with a failed update's whole reason and a checkpoint's digest counted rather than cut off."""
    if type(entry).describe is not OplogEntry.describe:
        return entry.describe(omit)  # the entry knows best
    if isinstance(entry, UpdateFailed):
        reason = " ".join(entry.reason.split())  # last and whole, unquoted: it is prose
        return f"target_version={entry.target_version} mode={json.dumps(entry.mode)} reason: {reason}"
    if isinstance(entry, Checkpoint):
        pending = ", ".join(str(p.get("function")) for p in entry.pending)
        open_promises = sum(1 for done, _ in entry.promises.values() if not done)
        return (
            f"template={json.dumps(entry.template)} version={entry.version} results={len(entry.results)} "
            f"pending=[{pending}] promises={len(entry.promises)} ({open_promises} open) "
            f"interrupted={json.dumps(entry.interrupted)}"
        )
    return entry.describe(omit)
