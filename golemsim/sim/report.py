"""report.md: a run's argument in a few lines, then the details.

It opens with what became of the orders on each side of the same fault plan (durable workers,
then the lambda baseline when it ran), then sets the two sides next to each other: orders by
outcome with counter-examples, what the clients saw (latency, timeouts), the faults, and each
side's own details, counters and checker verdicts. Figures are rounded for reading; the exact
values are in summary.json.
"""

from __future__ import annotations

import json
from typing import Any

from .order_outcomes import CATEGORIES, LABELS, OrderOutcomes, both_sides
from .runner import RunResult

SIDES = {"workers": "Workers", "lambdas": "Lambdas"}
EXAMPLES = 3
"""Counter-examples shown per side and category."""


def report_text(result: RunResult, baseline: RunResult | None = None, orders: list[OrderOutcomes] | None = None) -> str:
    """The report of a run (and of the lambda baseline on the same plan, when given); ``orders``
    are both sides' order outcomes when already worked out (golemsim.sim.order_outcomes.both_sides)."""
    orders = both_sides(result, baseline) if orders is None else orders
    by_side = {o.side: o for o in orders}
    s = result.summary
    lines = [f"# {result.experiment.name}", "", *_opening(result, baseline, by_side), ""]
    if orders:
        lines += ["## Orders, side by side" if baseline else "## Orders", "", *_order_table(orders), ""]
        lines += _counterexamples(orders)
    lines += ["## What the clients saw", "", *_client_table(result, baseline), ""]
    lines += ["## Faults", "", *([f"- {f.describe()}" for f in result.faults] or ["- none"]), ""]
    lines += [
        "## Durable workers",
        "",
        f"app `{result.experiment.app}` (workload `{result.experiment.files.workload}`), seed {result.seed}, "
        f"{_num(s['simulated_seconds'])} simulated seconds (wall {result.wall_seconds:.1f} s), "
        f"trace sha256 `{result.trace_digest[:16]}...`; "
        f"{s['recoveries']} recoveries (rebuilt instances, resumed invocations) replayed {s['replayed_entries']} "
        f"entries{_recovery_times(s)}.",
        "",
        f"Counters (workers): {_counters(s)}",
        "",
        f"Checkers (workers): **{'VALID' if result.valid else 'INVALID'}**",
        *_verdict_lines(result),
        "",
    ]
    if baseline is not None:
        b = baseline.summary
        lost = b["counters"].get("functions_lost_in_crash", 0)
        lines += [
            "## Lambda baseline (same plan, stateless functions and a database)",
            "",
            f"{_num(b['simulated_seconds'])} simulated seconds, trace sha256 `{baseline.trace_digest[:16]}...`; "
            f"{lost} function instances died with their node, and nothing resumed them.",
            "",
            f"Counters (lambdas): {_counters(b)}",
            "",
            f"Checkers (lambdas): **{'VALID' if baseline.valid else 'INVALID'}**",
            *_verdict_lines(baseline),
            "",
        ]
    return "\n".join(lines)


def _opening(result: RunResult, baseline: RunResult | None, orders: dict[str, OrderOutcomes]) -> list[str]:
    """Three to five lines that say what happened on each side, computed from the run."""
    runs = [("workers", result), *([("lambdas", baseline)] if baseline is not None else [])]
    lines = []
    for side, run in runs:
        verdict = f"**{'VALID' if run.valid else 'INVALID'}**"
        outcome = orders[side].sentence() if side in orders else _acknowledged(run.summary)
        lines.append(f"- **{SIDES[side]}** ({verdict}): {outcome}.")
    count = len(result.faults)
    plan = f"{count} fault{'' if count == 1 else 's'}" if count else "no faults"
    same = "Same plan for both sides" if baseline is not None else "Plan"
    lines.append(f"- {same}: {plan}{_fault_list(result)}, seed {result.seed}.")
    lines.append(f"- What the clients saw: {'; '.join(_seen(side, run.summary) for side, run in runs)}.")
    return lines


def _fault_list(result: RunResult) -> str:
    shown = [
        f"{f.kind} {f.target} at {_num(f.at)} s" if f.target else f"{f.kind} at {_num(f.at)} s" for f in result.faults
    ]
    if not shown:
        return ""
    return " (" + ", ".join(shown[:6]) + (", ..." if len(shown) > 6 else "") + ")"


def _seen(side: str, summary: dict[str, Any]) -> str:
    lat = summary["latency_s"]
    others = _others(summary)
    return (
        f"{side} {summary['acknowledged']} of {summary['operations']} ok"
        f"{', ' + others if others else ''}, p99 {seconds(lat['p99'])}"
    )


def _acknowledged(summary: dict[str, Any]) -> str:
    others = _others(summary)
    said = f" ({others})" if others else ""
    return f"{summary['acknowledged']} of {summary['operations']} operations acknowledged{said}"


def _order_table(orders: list[OrderOutcomes]) -> list[str]:
    head = "| outcome | " + " | ".join(SIDES[o.side].lower() for o in orders) + " |"
    rule = "|---|" + "---:|" * len(orders)
    rows = [
        f"| {LABELS[category]} | " + " | ".join(str(o.counts()[category]) for o in orders) + " |"
        for category in CATEGORIES
    ]
    total = "| **orders** | " + " | ".join(f"**{len(o.orders)}**" for o in orders) + " |"
    return [head, rule, *rows, total]


def _counterexamples(orders: list[OrderOutcomes]) -> list[str]:
    """A few order ids per side for every category but ``whole``."""
    lines: list[str] = []
    for category in CATEGORIES[1:]:
        for o in orders:
            found = o.of(category)
            if not found:
                continue
            first = f"first {EXAMPLES} of {len(found)}" if len(found) > EXAMPLES else f"{len(found)}"
            lines.append(f"{SIDES[o.side]}, {LABELS[category]} ({first}):")
            lines += [f"- {order.describe()}" for order in found[:EXAMPLES]]
            lines.append("")
    return lines


def _client_table(result: RunResult, baseline: RunResult | None) -> list[str]:
    runs = [("workers", result.summary), *([("lambdas", baseline.summary)] if baseline is not None else [])]
    lat = [s["latency_s"] for _, s in runs]
    rows = [
        ("acknowledged", [f"{s['acknowledged']} of {s['operations']}" for _, s in runs]),
        ("timeouts, errors", [_others(s) or "none" for _, s in runs]),
        ("latency p50 / p99 / max (ok)", [" / ".join(seconds(x[k]) for k in ("p50", "p99", "max")) for x in lat]),
        ("throughput", [f"{_num(s['throughput_per_s'])} ok/s" for _, s in runs]),
        ("simulated seconds", [_num(s["simulated_seconds"]) for _, s in runs]),
    ]
    head = "| | " + " | ".join(side for side, _ in runs) + " |"
    rule = "|---|" + "---:|" * len(runs)
    return [head, rule, *(f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows)]


def _recovery_times(summary: dict[str, Any]) -> str:
    times = summary.get("recovery_s", {})
    if not summary.get("recoveries") or times.get("p50") is None:
        return ""
    return f" (recovery p50 {seconds(times['p50'])}, max {seconds(times['max'])})"


def _counters(summary: dict[str, Any]) -> str:
    counters = summary.get("counters", {})
    return ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in counters.items()) or "none"


def _verdict_lines(result: RunResult) -> list[str]:
    out = []
    for v in result.verdicts:
        note = f" {v.note}" if v.note else ""
        failed = f", {v.failures} failed" if v.failures else ""
        out.append(f"- {'valid  ' if v.valid else 'INVALID'} {v.name} ({v.checked} checked{failed}){note}")
        out += [f"    - {json.dumps(example, default=str)}" for example in v.counterexamples]
    return out


def _others(summary: dict[str, Any]) -> str:
    """ "12 errors, 3 timeouts": what the clients saw besides success ("" when nothing)."""
    others = {k: v for k, v in summary.get("outcomes", {}).items() if k != "ok"}
    return ", ".join(f"{n} {'timeouts' if k == 'timeout' else k + 's'}" for k, n in others.items())


def seconds(value: float | None) -> str:
    """A duration rounded for reading: "3.4 s", "0.31 s", "12 ms", "7.0 ms" ("-" for None)."""
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.1f} s"
    if value >= 0.1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    return f"{value * 1000:.1f} ms"


def _num(value: float) -> str:
    """A quantity rounded for reading: 18.4, 36.7, 2 (one decimal at most)."""
    return f"{value:.1f}".removesuffix(".0")
