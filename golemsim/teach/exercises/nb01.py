"""Exercises of notebook 01, lambdas vs workers: counters on a cluster where nodes crash."""

from __future__ import annotations

from ...sim import run_experiment
from ..grading import Grade, exercise, failed, passed
from ..runs import crash_windows, experiment_of, require_app, require_small, two_down_at_once, verdicts_grade


@exercise(
    "01.1",
    "counters survive two nodes down at once",
    hint="write an experiment (YAML text) for the counter app in which two nodes are declared dead together",
)
def two_nodes_down(answer: object) -> Grade:
    """The learner's counter experiment must have two nodes down at the same time for long enough
    that both are declared dead (one node owns every shard), and keep every checker valid."""
    experiment = experiment_of(answer)
    refused = require_app("01.1", experiment, "counter") or require_small("01.1", experiment, 400)
    if refused:
        return refused
    result = run_experiment(experiment)
    summary = result.summary
    overlap = two_down_at_once(result.faults)
    if overlap is None:
        crashes = "; ".join(f"{node} down {start:g}-{end:g} s" for node, start, end in crash_windows(result.faults))
        return failed("01.1", "no two nodes were ever down at the same time", crashes or "no node crashed")
    first, second, start, end = overlap
    what = f"{first} and {second} both down {start:g}-{end:g} s"
    dead = summary["counters"].get("nodes_declared_dead", 0)
    if dead < 2:
        return failed(
            "01.1",
            f"{what}, but their shards did not both move",
            f"{dead} node(s) declared dead: a crash shorter than the 2 s heartbeat timeout "
            "is over before its shards move",
        )
    bad = verdicts_grade("01.1", result, what)
    if bad:
        return bad
    return passed(
        "01.1",
        f"{what}; {summary['acknowledged']} of {summary['operations']} increments acknowledged, "
        f"{dead} nodes declared dead, {summary['recoveries']} counters rebuilt by replay, "
        f"all {len(result.verdicts)} verdicts valid",
    )
