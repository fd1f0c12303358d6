"""Exercises of notebook 04, auctions at scale: the hottest lot survives its node's crash."""

from __future__ import annotations

from collections import Counter

from ...sim import run_experiment
from ..grading import Grade, exercise, failed, passed
from ..runs import crash_windows, experiment_of, require_app, require_small, verdicts_grade
from .nb03 import owner_at

AUCTIONS_CHECK = "auction-one-winner-charged-once"


@exercise(
    "04.1",
    "crash the hottest lot",
    hint="write an auction experiment (zipf bids) that crashes the node holding the hottest lot while bids come in",
)
def crash_the_hottest_lot(answer: object) -> Grade:
    """One of the crashes must be of the node that holds the lot with the most bids, during the
    bidding, and the lot must be rebuilt on another node afterwards (its shard moved); every
    checker stays valid and ``auction-one-winner-charged-once`` checks some lots."""
    experiment = experiment_of(answer)
    refused = require_app("04.1", experiment, "auction") or require_small("04.1", experiment, 1500)
    if refused:
        return refused
    result = run_experiment(experiment)
    bids = [op for op in result.history if op.op.name == "bid" and op.bound is not None]
    if not bids:
        return failed("04.1", "no bid reached the auctions", f"outcomes: {result.summary['outcomes']}")
    per_lot = Counter(str(op.bound.worker) for op in bids if op.bound is not None)
    hottest, count = per_lot.most_common(1)[0]
    first, last = min(op.sent for op in bids), max(op.sent for op in bids)
    tried = []
    hit = None
    for node, start, _end in crash_windows(result.faults):
        holder = owner_at(result, hottest, start)
        during = first <= start <= last
        moved = any(
            r.worker == hottest and r.at >= start and r.node not in (node, "")
            for r in result.cluster.metrics.recoveries
        )
        tried.append(f"{node} at t={start:.3f} s (the lot was on {holder}{'' if during else ', no bids then'})")
        if node == holder and during and moved:
            hit = (node, start)
            break
    if hit is None:
        return failed(
            "04.1",
            f"no crash moved the hottest lot, {hottest} ({count} bids, sent t={first:.2f}-{last:.2f} s)",
            "crashes: " + ("; ".join(tried) or "none"),
        )
    what = f"{hottest} ({count} of {len(bids)} bids) lost {hit[0]} at t={hit[1]:.3f} s and was rebuilt elsewhere"
    bad = verdicts_grade("04.1", result, what)
    if bad:
        return bad
    auctions = next(v for v in result.verdicts if v.name == AUCTIONS_CHECK)
    return passed("04.1", f"{what}; {AUCTIONS_CHECK} valid over {auctions.checked} lots, all verdicts valid")
