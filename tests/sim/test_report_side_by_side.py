"""The main job's report: the checkout-crash experiment, run for real on both sides (durable
workers and the lambda baseline, same plan), puts what became of every order side by side."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from golemsim.sim.experiment import load_experiment
from golemsim.sim.order_outcomes import CATEGORIES, OrderOutcomes, order_outcomes
from golemsim.sim.results import write_results
from golemsim.sim.runner import RunResult, run_experiment
from tests.support.paths import ROOT
from tests.support.sim_runs import registry

pytestmark = pytest.mark.slow  # two runs of 600 orders each, then the plots


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, RunResult, Path]:
    experiment = load_experiment(str(ROOT / "experiments" / "checkout-crash.yaml"))
    templates = registry(("checkout",))
    workers = run_experiment(experiment, registry=templates)
    lambdas = run_experiment(experiment, variant="lambda", registry=templates)
    out = tmp_path_factory.mktemp("checkout-crash")
    write_results(out, workers, lambdas)
    return workers, lambdas, out


def outcomes(result: RunResult) -> OrderOutcomes:
    found = order_outcomes(result)
    assert found is not None
    return found


def test_every_order_has_one_outcome_on_each_side(runs: tuple[RunResult, RunResult, Path]) -> None:
    workers, lambdas, out = runs
    summary = json.loads((out / "summary.json").read_text())
    for result, side in ((workers, "workers"), (lambdas, "lambdas")):
        found = outcomes(result)
        assert found.side == side
        assert len(found.orders) == result.summary["operations"] == 600
        assert sum(found.counts().values()) == 600
        assert len({o.order_id for o in found.orders}) == 600
        assert {k: summary["orders"][side][k] for k in CATEGORIES} == found.counts()


def test_the_workers_finish_every_order_even_those_their_clients_gave_up_on(
    runs: tuple[RunResult, RunResult, Path],
) -> None:
    workers, _, _ = runs
    found = outcomes(workers)
    timeouts = {op.op.key for op in workers.history if op.outcome == "timeout"}
    assert found.whole == 600 and timeouts
    late = found.of("whole-client-gave-up")
    assert {o.request for o in late} == timeouts
    assert all(o.finished_after_client for o in late)


def test_the_lambdas_half_done_orders_are_the_checkers_failures(runs: tuple[RunResult, RunResult, Path]) -> None:
    _, lambdas, out = runs
    found = outcomes(lambdas)
    verdict = next(v for v in lambdas.verdicts if v.name == "orders-whole-or-undone")
    half = found.of("half-done")
    assert half and len(half) == verdict.failures
    assert [(o.order_id, o.note) for o in half][:5] == [(e["order"], e["problem"]) for e in verdict.counterexamples]
    report = (out / "report.md").read_text()
    for order in half[:3]:
        assert f"`{order.order_id}`" in report.split("## Orders")[0]  # named in the opening lines


def test_the_report_opens_with_both_sides_and_keeps_each_sides_details_under_it(
    runs: tuple[RunResult, RunResult, Path],
) -> None:
    workers, lambdas, out = runs
    report = (out / "report.md").read_text()
    lines = report.splitlines()
    assert lines[2] == f"- **Workers** (**VALID**): {outcomes(workers).sentence()}."
    assert lines[3] == f"- **Lambdas** (**INVALID**): {outcomes(lambdas).sentence()}."
    assert lines[2].startswith("- **Workers** (**VALID**): 600 of 600 orders whole (20 finished after the client")
    assert "half-done: charged but never shipped" in lines[3]
    table = report.index("| outcome | workers | lambdas |")
    workers_section, lambdas_section = report.index("## Durable workers"), report.index("## Lambda baseline")
    assert table < workers_section < report.index("Counters (workers): crashes 4") < lambdas_section
    assert lambdas_section < report.index("Counters (lambdas): crashes 4, functions lost in crash")
    assert "INVALID orders-whole-or-undone" in report[lambdas_section:]  # the checker lists stay
    assert "valid   no-acknowledged-invocation-lost" in report[workers_section:lambdas_section]


def test_figures_in_the_report_are_rounded(runs: tuple[RunResult, RunResult, Path]) -> None:
    _, _, out = runs
    prose = [line for line in (out / "report.md").read_text().splitlines() if not line.startswith("    - {")]
    text = re.sub(r"`[0-9a-f]{16}\.\.\.`", "", "\n".join(prose))  # trace digests
    assert not re.findall(r"\d+\.\d{3,}", text)
    assert not re.findall(r"\d{4,}(?:\.\d+)? ms", text)
    assert "p99 3.4 s" in text and "18.4 simulated seconds" in text and "p99 0.23 s" in text


def test_the_plots_set_the_sides_next_to_each_other_sharply(runs: tuple[RunResult, RunResult, Path]) -> None:
    _, _, out = runs
    names = {p.name for p in (out / "plots").glob("*.png")}
    assert {"orders.png", "latency-compare.png", "latency.png", "recovery.png", "nodes.png"} <= names
    for name in names:
        data = (out / "plots" / name).read_bytes()
        width, _ = struct.unpack(">II", data[16:24])  # the PNG header's size
        assert data.startswith(b"\x89PNG") and width >= 9 * 150, name
