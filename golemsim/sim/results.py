"""The results folder of a run: summary JSON, checker verdicts, plots, the trace, the clients'
history, and a short report in Markdown that says what happened and whether it was valid.

``summary.json`` also holds what it takes to run the same plan again without the seed's random
draws (``golemsim sim shrink`` reads it): the experiment file's absolute path and content hash,
and every fault that started as data (``fault_plan``, in the form of an experiment file's
``faults:`` entries).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from .nemesis import Fault
from .order_outcomes import OrderOutcomes, both_sides
from .report import report_text
from .runner import RunResult

_DEFAULT_FAULT = Fault(0.0, "crash")


def fault_to_dict(fault: Fault) -> dict[str, Any]:
    """A fault as an experiment file's ``faults:`` entry: ``at`` and ``kind``, the duration of a
    fault that lasts, and every other field that is not its default (so it reads back equal)."""
    entry: dict[str, Any] = {"at": fault.at, "kind": fault.kind}
    for name in ("target", "duration", "groups", "rate", "factor", "mode", "source"):
        value = getattr(fault, name)
        lasts = name == "duration" and fault.kind != "template-update"
        if lasts or value != getattr(_DEFAULT_FAULT, name):
            entry[name] = [list(group) for group in value] if name == "groups" else value
    return entry


def fault_from_dict(entry: dict[str, Any]) -> Fault:
    """The inverse of ``fault_to_dict`` (for a ``fault_plan`` read from summary.json)."""
    known = {f.name for f in dataclasses.fields(Fault)}
    values = {k: v for k, v in entry.items() if k in known}
    if "groups" in values:
        values["groups"] = tuple(tuple(str(name) for name in group) for group in values["groups"])
    return Fault(**values)


def write_results(out: Path, result: RunResult, baseline: RunResult | None = None) -> list[Path]:
    """Write the folder; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    orders = both_sides(result, baseline)
    written = [
        _json(out / "summary.json", _summary(result, baseline, orders)),
        _json(out / "verdicts.json", [v.to_json() for v in result.verdicts]),
        _lines(out / "trace.jsonl", result.cluster.trace.lines),
        _lines(out / "history.jsonl", [json.dumps(op.record(), sort_keys=True) for op in result.history]),
    ]
    try:
        from .plots import save_all
    except ImportError:  # matplotlib is an extra: the run is still complete without pictures
        pass
    else:
        written += save_all(
            result.cluster.metrics,
            result.summary["settled_at"],
            out / "plots",
            baseline=None if baseline is None else baseline.cluster.metrics,
            orders=orders,
        )
    if baseline is not None:
        written.append(_json(out / "baseline-verdicts.json", [v.to_json() for v in baseline.verdicts]))
        written.append(_lines(out / "baseline-trace.jsonl", baseline.cluster.trace.lines))
    report = out / "report.md"
    report.write_text(report_text(result, baseline, orders))
    written.append(report)
    return written


def _summary(result: RunResult, baseline: RunResult | None, orders: list[OrderOutcomes]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "experiment": result.experiment.name,
        "app": result.experiment.app,
        "source": result.experiment.source,
        "seed": result.seed,
        "valid": result.valid,
        "faults": [f.describe() for f in result.faults],
        "fault_plan": [fault_to_dict(f) for f in result.faults],
        "workers": result.summary,
    }
    source = Path(result.experiment.source)
    if source.is_file():  # not an experiment written inline (source "<experiment>")
        doc["source_path"] = str(source.resolve())
        doc["source_sha256"] = hashlib.sha256(source.read_bytes()).hexdigest()
    if baseline is not None:
        doc["lambda_baseline"] = {**baseline.summary, "valid": baseline.valid}
    if orders:  # what became of each order, per side (a checkout run)
        doc["orders"] = {o.side: o.to_json() for o in orders}
    return doc


def _json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path
