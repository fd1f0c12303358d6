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
    written = [
        _json(out / "summary.json", _summary(result, baseline)),
        _json(out / "verdicts.json", [v.to_json() for v in result.verdicts]),
        _lines(out / "trace.jsonl", result.cluster.trace.lines),
        _lines(out / "history.jsonl", [json.dumps(op.record(), sort_keys=True) for op in result.history]),
    ]
    try:
        from .plots import save_all
    except ImportError:  # matplotlib is an extra: the run is still complete without pictures
        pass
    else:
        written += save_all(result.cluster.metrics, result.summary["settled_at"], out / "plots")
    if baseline is not None:
        written.append(_json(out / "baseline-verdicts.json", [v.to_json() for v in baseline.verdicts]))
        written.append(_lines(out / "baseline-trace.jsonl", baseline.cluster.trace.lines))
    report = out / "report.md"
    report.write_text(report_text(result, baseline))
    written.append(report)
    return written


def _summary(result: RunResult, baseline: RunResult | None) -> dict[str, Any]:
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
    return doc


def _json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    return path


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def report_text(result: RunResult, baseline: RunResult | None = None) -> str:
    s = result.summary
    lat = s["latency_s"]
    lines = [
        f"# {result.experiment.name}",
        "",
        f"app `{result.experiment.app}` (workload `{result.experiment.files.workload}`), seed {result.seed}, "
        f"{s['simulated_seconds']:g} simulated seconds "
        f"(wall {result.wall_seconds:.1f} s), trace sha256 `{result.trace_digest[:16]}...`",
        "",
        f"**{'VALID' if result.valid else 'INVALID'}**: durable workers, "
        f"{s['acknowledged']} of {s['operations']} operations acknowledged {_outcomes(s)}, "
        f"p50 {_ms(lat['p50'])}, p99 {_ms(lat['p99'])}; "
        f"{s['recoveries']} recoveries (rebuilt instances, resumed invocations) replayed "
        f"{s['replayed_entries']} entries.",
        "",
        "## Faults",
        *([f"- {f.describe()}" for f in result.faults] or ["- none"]),
        "",
        "## Checkers (durable workers)",
        *_verdict_lines(result),
    ]
    if baseline is not None:
        b = baseline.summary
        lines += [
            "",
            "## Lambda baseline (same plan, stateless functions and a database)",
            f"**{'VALID' if baseline.valid else 'INVALID'}**: {b['acknowledged']} of {b['operations']} acknowledged "
            f"{_outcomes(b)}; "
            f"{b['counters'].get('functions_lost_in_crash', 0)} function instances died with their node.",
            *_verdict_lines(baseline),
        ]
    lines += ["", f"Counters: {json.dumps(s['counters'])}", ""]
    return "\n".join(lines)


def _verdict_lines(result: RunResult) -> list[str]:
    out = []
    for v in result.verdicts:
        note = f" {v.note}" if v.note else ""
        failed = f", {v.failures} failed" if v.failures else ""
        out.append(f"- {'valid  ' if v.valid else 'INVALID'} {v.name} ({v.checked} checked{failed}){note}")
        out += [f"    - {json.dumps(example, default=str)}" for example in v.counterexamples]
    return out


def _outcomes(summary: dict[str, Any]) -> str:
    """(12 errors, 3 timeouts): what the clients saw besides success."""
    others = {k: v for k, v in summary.get("outcomes", {}).items() if k != "ok"}
    if not others:
        return ""
    return "(" + ", ".join(f"{n} {'timeouts' if k == 'timeout' else k + 's'}" for k, n in others.items()) + ")"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"
