"""Exercises of notebook 05, the fault-injection lab: snapshots that bound every rebuild, and a
broken contract (services that no longer deduplicate) caught by the checkers."""

from __future__ import annotations

from ...sim import run_experiment
from ..grading import Grade, describe_counterexample, exercise, failed, first_invalid, passed
from ..runs import crash_windows, experiment_of, require_app, require_small, verdicts_grade

MOST_REPLAYED = 2
"""05.1: the most invocations a rebuild after the first crash may replay."""


@exercise(
    "05.1",
    "rebuilds that replay at most two invocations",
    hint="write a shopping-cart experiment with 3 crashes or more and a snapshot policy that keeps rebuilds short",
)
def short_rebuilds(answer: object) -> Grade:
    """At least three crashes and at least 200 operations; no rebuild after the first crash may
    replay more than MOST_REPLAYED invocations, and every checker stays valid."""
    experiment = experiment_of(answer)
    refused = require_app("05.1", experiment, "shopping-cart") or require_small("05.1", experiment, 600)
    if refused:
        return refused
    if experiment.clients.operations < 200:
        return failed("05.1", "send at least 200 operations", f"operations: {experiment.clients.operations}")
    crashes = crash_windows(list(experiment.faults))
    if len(crashes) < 3:
        plan = "; ".join(fault.describe() for fault in experiment.faults) or "none"
        return failed("05.1", "crash nodes at least 3 times (scripted faults)", f"faults: {plan}")
    result = run_experiment(experiment)
    first = crashes[0][1]
    rebuilt = [r for r in result.cluster.metrics.recoveries if r.at >= first and r.mode != "resume"]
    if not rebuilt:
        return failed(
            "05.1", "the crashes rebuilt no cart", "no rebuild after the first crash: crash nodes that hold carts"
        )
    worst = max(rebuilt, key=lambda r: (r.invocations, -r.at))
    replayed = f"{worst.invocations} invocation{'' if worst.invocations == 1 else 's'}"
    what = f"{len(rebuilt)} rebuilds after {len(crashes)} crashes, the longest replayed {replayed}"
    if worst.invocations > MOST_REPLAYED:
        return failed(
            "05.1",
            f"{what}; at most {MOST_REPLAYED} allowed",
            f"{worst.worker} rebuilt on {worst.node} at t={worst.at:.3f} s: {worst.mode} replay of "
            f"{replayed} ({1000 * worst.seconds:.1f} simulated ms)",
        )
    bad = verdicts_grade("05.1", result, what)
    if bad:
        return bad
    return passed("05.1", f"{what}; all {len(result.verdicts)} verdicts valid")


@exercise(
    "05.2",
    "one crash, a customer charged twice",
    hint="write a checkout experiment with services: {dedupe: false} and ONE crash that gets an order charged twice",
)
def charged_twice(answer: object) -> Grade:
    """With deduplication off, exactly one crash (no other fault) must make the checkers find an
    order charged more than once: ``orders-whole-or-undone`` reports it, and its counter-example is
    the grade's. This one passes when the checkers catch the broken contract."""
    experiment = experiment_of(answer)
    refused = require_app("05.2", experiment, "checkout") or require_small("05.2", experiment, 200)
    if refused:
        return refused
    if experiment.cluster.services.dedupe:
        return failed(
            "05.2", "the services still deduplicate", "services: {dedupe: true}: nothing can be applied twice"
        )
    crashes = [fault for fault in experiment.faults if fault.kind == "crash"]
    if len(experiment.faults) != 1 or len(crashes) != 1 or experiment.random_faults is not None:
        plan = [fault.describe() for fault in experiment.faults] + (
            ["random faults"] if experiment.random_faults else []
        )
        return failed("05.2", "the plan must be exactly one crash", "faults: " + ("; ".join(plan) or "none"))
    crash = crashes[0]
    result = run_experiment(experiment)
    orders = next(v for v in result.verdicts if v.name == "orders-whole-or-undone")
    twice = [example for example in orders.counterexamples if str(example.get("problem", "")).startswith("charged")]
    where = f"the crash of {crash.target} at t={crash.at:.3f} s"
    if not twice:
        bad = first_invalid(result.verdicts)
        found = describe_counterexample(bad) if bad else "every verdict valid"
        return failed("05.2", f"{where}: the checkers found no order charged twice", f"they found: {found}")
    example = ", ".join(f"{key} {value}" for key, value in twice[0].items())
    return passed("05.2", f"{where}: orders-whole-or-undone caught it: {example}")
