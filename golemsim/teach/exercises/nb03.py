"""Exercises of notebook 03, shopping carts: a merge cut in half by a crash moves items once."""

from __future__ import annotations

import json

from ...core.ids import WorkerId
from ...sim import RunResult, run_experiment
from ...sim.shards import shard_of
from ..grading import Grade, exercise, failed, passed
from ..runs import experiment_of, require_app, require_small, verdicts_grade

CARTS_CHECK = "merged-carts-hold-the-sum"


def merges_in_flight(result: RunResult, at: float) -> dict[str, str]:
    """Merges sent before ``at`` and not answered by then: the device cart -> the user's cart."""
    flying = {}
    for op in result.history:
        if op.op.name != "merge" or op.bound is None or op.sent > at:
            continue
        if op.done is None or op.done > at:
            device = WorkerId(op.bound.worker.template, f"anon-{op.bound.args[0]}")
            flying[str(device)] = str(op.bound.worker)
    return flying


def owner_at(result: RunResult, worker: str, at: float) -> str | None:
    """The node that owned the worker's shard just before ``at``, from the trace's assign events."""
    shard = shard_of(WorkerId.parse(worker), result.experiment.cluster.shards)
    owner = None
    for line in result.cluster.trace.lines:
        time, kind, fields = json.loads(line)
        if time >= at:
            break
        if kind == "assign" and fields["shard"] == shard:
            owner = fields["node"]
    return owner


@exercise(
    "03.1",
    "crash the other side of a merge",
    hint="write a shopping-cart experiment with ONE crash, of the node holding an anonymous cart while it is merged",
)
def crash_the_callee(answer: object) -> Grade:
    """Exactly one crash, of the node that holds an anonymous cart while a merge into its user's
    cart is in flight (so the callee of the merge's call dies); the anonymous cart must be rebuilt
    after it, every checker stay valid and ``merged-carts-hold-the-sum`` check some carts."""
    experiment = experiment_of(answer)
    refused = require_app("03.1", experiment, "shopping-cart") or require_small("03.1", experiment, 400)
    if refused:
        return refused
    crashes = [fault for fault in experiment.faults if fault.kind == "crash"]
    if len(crashes) != 1 or experiment.random_faults is not None:
        plan = [fault.describe() for fault in experiment.faults] + (
            ["random faults"] if experiment.random_faults else []
        )
        return failed("03.1", "the plan must have exactly one crash", "faults: " + ("; ".join(plan) or "none"))
    crash = crashes[0]
    result = run_experiment(experiment)
    flying = merges_in_flight(result, crash.at)
    on_node = {device: owner_at(result, device, crash.at) for device in flying}
    rebuilt = {r.worker for r in result.cluster.metrics.recoveries if r.at >= crash.at}
    hit = sorted(device for device, node in on_node.items() if node == crash.target and device in rebuilt)
    if not hit:
        merges = ", ".join(f"{flying[d]} <- {d} (on {on_node[d]})" for d in sorted(flying)) or "none"
        return failed(
            "03.1",
            f"the crash of {crash.target} at t={crash.at:.3f} s hit no anonymous cart being merged",
            f"merges in flight then: {merges}",
        )
    what = f"the crash of {crash.target} at t={crash.at:.3f} s took down {hit[0]}"
    what += f" while it was merged into {flying[hit[0]]}"
    bad = verdicts_grade("03.1", result, what)
    if bad:
        return bad
    carts = next(v for v in result.verdicts if v.name == CARTS_CHECK)
    if carts.checked == 0:
        return failed("03.1", f"{what}, but {CARTS_CHECK} checked nothing", carts.note or "no carts were checked")
    return passed(
        "03.1", f"{what}; {CARTS_CHECK} valid over {carts.checked} carts, all {len(result.verdicts)} verdicts valid"
    )
