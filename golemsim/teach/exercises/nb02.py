"""Exercises of notebook 02, the durable checkout: orders whole or undone while nodes crash."""

from __future__ import annotations

from collections import defaultdict

from ...sim import run_experiment
from ..grading import Grade, exercise, failed, passed
from ..runs import experiment_of, require_app, require_small, verdicts_grade

RESUMED_AFTER = 0.5
"""Seconds after a crash from which a shipment counts as resumed: an order on a live node ships
a few service calls (0.05 s each) after its charge, one on the crashed node only once recovered."""


@exercise(
    "02.1",
    "lambdas that leave no order by halves",
    hint="change the notebook's CHECKOUT experiment so that the lambda baseline ends valid, crashes and all",
)
def lambdas_whole(answer: object) -> Grade:
    """The lambda baseline, under at least three crashes that kill functions mid-order, must keep
    ``orders-whole-or-undone`` and the other checkers valid."""
    experiment = experiment_of(answer)
    refused = require_app("02.1", experiment, "checkout") or require_small("02.1", experiment, 300)
    if refused:
        return refused
    if experiment.clients.operations < 100:
        return failed("02.1", "send at least 100 orders", f"operations: {experiment.clients.operations}")
    result = run_experiment(experiment, variant="lambda")
    summary = result.summary
    crashes = summary["counters"].get("crashes", 0)
    killed = summary["counters"].get("functions_lost_in_crash", 0)
    if crashes < 3 or killed == 0:
        return failed(
            "02.1",
            "keep the crashes: at least 3, killing functions in the middle of orders",
            f"{crashes} crashes, {killed} function instances died with their node",
        )
    what = f"{summary['operations']} orders, {crashes} crashes killed {killed} functions mid-order"
    bad = verdicts_grade("02.1", result, what)
    if bad:
        return bad
    return passed("02.1", f"{what}; outcomes {_outcomes(summary)}, every order whole or undone")


@exercise(
    "02.2",
    "one crash in the middle of a payment",
    hint="write a checkout experiment with ONE crash, timed to fall between an order's charge and its shipment",
)
def crash_mid_payment(answer: object) -> Grade:
    """Exactly one crash, timed so that an order was charged before it and shipped only after
    its recovery (the services' ledger says when each step was applied). Every checker must stay
    valid: the order charged once, and shipped."""
    experiment = experiment_of(answer)
    refused = require_app("02.2", experiment, "checkout") or require_small("02.2", experiment, 300)
    if refused:
        return refused
    crashes = [fault for fault in experiment.faults if fault.kind == "crash"]
    if len(experiment.faults) != 1 or len(crashes) != 1 or experiment.random_faults is not None:
        plan = [fault.describe() for fault in experiment.faults]
        if experiment.random_faults is not None:
            plan.append("random faults")
        return failed("02.2", "the plan must be exactly one crash", "faults: " + ("; ".join(plan) or "none"))
    crash = crashes[0]
    result = run_experiment(experiment)
    steps_of: dict[str, dict[str, float]] = defaultdict(dict)  # an order's durable key -> step -> applied at
    for record in result.cluster.services.ledger:
        if record.outcome == "applied":
            order_key, _, step = record.key.rpartition("/")
            steps_of[order_key][step] = record.at
    late = crash.at + RESUMED_AFTER
    torn = sorted(
        (steps["payment.charge"], steps["shipping.create-shipment"])
        for steps in steps_of.values()
        if steps.get("payment.charge", late) <= crash.at and steps.get("shipping.create-shipment", 0) >= late
    )
    if not torn:
        return failed(
            "02.2",
            f"the crash at t={crash.at:g} s hit no order between its charge and its shipment",
            f"no order was charged before t={crash.at:g} s and shipped after its recovery (from t={late:g} s)",
        )
    charged, shipped = torn[-1]
    what = f"{crash.describe()} cut {len(torn)} order(s) between charge and shipment"
    bad = verdicts_grade("02.2", result, what)
    if bad:
        return bad
    return passed(
        "02.2",
        f"{what}; one was charged at t={charged:.3f} s and shipped at t={shipped:.3f} s, "
        f"after its recovery; all {len(result.verdicts)} verdicts valid",
    )


def _outcomes(summary: dict[str, object]) -> str:
    outcomes = summary.get("outcomes", {})
    assert isinstance(outcomes, dict)
    return ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
