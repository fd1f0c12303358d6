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


SEEDS = (1, 2, 3)


@exercise(
    "01.2",
    "counters survive random crashes, whatever the seed",
    hint="write a counter experiment with random_faults that crash a node at least 3 times in every run",
)
def random_crashes(answer: object) -> Grade:
    """The learner's counter experiment must draw its crashes at random (``random_faults``); it is
    run with seeds 1, 2 and 3, and each run must see at least 3 crashes, a node declared dead,
    and every checker valid."""
    experiment = experiment_of(answer)
    refused = require_app("01.2", experiment, "counter") or require_small("01.2", experiment, 400)
    if refused:
        return refused
    if experiment.random_faults is None:
        return failed("01.2", "the crashes must be drawn at random", "the experiment has no random_faults")
    crashes, dead = [], []
    for seed in SEEDS:
        result = run_experiment(experiment, seed=seed)
        counters = result.summary["counters"]
        crashes.append(counters.get("crashes", 0))
        dead.append(counters.get("nodes_declared_dead", 0))
        if crashes[-1] < 3 or dead[-1] < 1:
            return failed(
                "01.2",
                f"seed {seed}: the random faults were too gentle",
                f"{crashes[-1]} crashes, {dead[-1]} nodes declared dead (at least 3 and 1 wanted)",
            )
        bad = verdicts_grade("01.2", result, f"seed {seed}")
        if bad:
            return bad
    return passed(
        "01.2",
        f"seeds {', '.join(map(str, SEEDS))}: {' / '.join(map(str, crashes))} crashes, "
        f"{' / '.join(map(str, dead))} nodes declared dead, every verdict valid in every run",
    )
