"""Exercises of notebook 06, upgrades: the platform and the app upgraded at once, unnoticed."""

from __future__ import annotations

from ...sim import run_experiment
from ..grading import Grade, exercise, failed, passed
from ..runs import experiment_of, require_app, require_small, verdicts_grade

SLOWEST = 1.0
"""06.1: the longest a request sent during the upgrade may wait, in simulated seconds."""


@exercise(
    "06.1",
    "upgrade the platform and the app at once, and no client waits a second",
    hint="write a counter experiment with a rolling upgrade and a template update to counter-v2 during it",
)
def upgrade_unnoticed(answer: object) -> Grade:
    """A rolling ``upgrade`` of every node and a ``template-update`` that starts while it runs;
    every worker's update must succeed, no request sent during the upgrade may take a second or
    more, and every checker stays valid."""
    experiment = experiment_of(answer)
    refused = require_app("06.1", experiment, "counter") or require_small("06.1", experiment, 600)
    if refused:
        return refused
    if experiment.clients.operations < 300:
        return failed("06.1", "send at least 300 operations", f"operations: {experiment.clients.operations}")
    kinds = [fault.kind for fault in experiment.faults]
    if "upgrade" not in kinds or "template-update" not in kinds:
        plan = "; ".join(fault.describe() for fault in experiment.faults) or "none"
        return failed("06.1", "the plan needs an upgrade and a template-update", f"faults: {plan}")
    result = run_experiment(experiment)
    window = next(f for f in result.cluster.metrics.faults if f.kind == "upgrade")
    end = window.end if window.end is not None else result.summary["simulated_seconds"]
    update = next(f for f in experiment.faults if f.kind == "template-update")
    if not window.start <= update.at < end:
        return failed(
            "06.1",
            "the template update must start during the rolling upgrade",
            f"upgrade from t={window.start:.3f} to {end:.3f} s, template update at t={update.at:.3f} s",
        )
    outcomes = result.summary["template_updates"]
    refused_update = next((o for o in outcomes if not o["ok"]), None)
    if not outcomes or refused_update is not None:
        example = refused_update or "no worker was updated"
        return failed("06.1", "every worker's update must succeed", str(example))
    during = [op for op in result.history if window.start <= op.sent < end]
    slow = max(during, key=lambda op: (op.done or float("inf")) - op.sent)
    waited = (slow.done or float("inf")) - slow.sent
    what = f"{len(during)} requests sent during the upgrade (t={window.start:.2f}-{end:.2f} s)"
    if waited >= SLOWEST:
        worker = slow.bound.worker if slow.bound else slow.op.path
        return failed(
            "06.1",
            f"{what}: one waited {waited:.3f} s",
            f"op {slow.n} ({slow.op.name} on {worker}) sent at t={slow.sent:.3f} s, "
            f"{slow.outcome} after {waited:.3f} s",
        )
    bad = verdicts_grade("06.1", result, what)
    if bad:
        return bad
    return passed(
        "06.1",
        f"{what}, the slowest answered in {waited:.3f} s; {len(outcomes)} workers updated to "
        f"v{outcomes[0]['version']}; all {len(result.verdicts)} verdicts valid",
    )
