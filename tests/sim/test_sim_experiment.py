"""Experiment files: every mistake is reported with its line and field, the shipped files parse,
and ``golemsim sim run`` in a real subprocess exits 0/1/2 and writes a results folder whose
trace digest an in-process run of the same file and seed reproduces."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import ROOT
from support.sim_runs import TINY_COUNTERS

from golemsim.core.errors import BadRequest
from golemsim.core.oplog.sqlite_store import SQLiteOplogStore
from golemsim.sim.experiment import ExperimentError, load_experiment, parse_experiment
from golemsim.sim.runner import run_experiment


def problems(text: str) -> list[str]:
    """The error's lines for an experiment that must not parse."""
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(textwrap.dedent(text), source="<test>")
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.problems)
    return lines


def test_every_mistake_is_reported_at_once_with_its_line_and_field() -> None:
    lines = problems(
        """\
        name: many mistakes
        app: counter
        colour: blue
        seed: abc
        workload: {mode: sideways, operations: 10}
        faults:
          - {at: 1, kind: meteor}
          - {at: 2, kind: partition, duration: 1}
        """
    )
    assert [line.split(": ")[:2] for line in lines] == [
        ["<test>:3", "colour"],
        ["<test>:4", "seed"],
        ["<test>:5", "workload.mode"],
        ["<test>:7", "faults[0].kind"],
        ["<test>:8", "faults[1].groups"],
    ]
    assert lines[0].startswith("<test>:3: colour: unknown key (expected one of: name, app, seed, cluster,")
    known = lines[0].split("expected one of: ")[1].rstrip(")").split(", ")
    assert len(known) == len(set(known)), "each known key is listed once"
    assert lines[1] == "<test>:4: seed: expected int, got 'abc'"
    assert lines[2] == "<test>:5: workload.mode: expected open or closed"
    assert "unknown fault kind 'meteor'" in lines[3] and "crash" in lines[3]
    assert lines[4] == "<test>:8: faults[1].groups: a partition needs two groups of endpoints"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "name: x\napp: chess\n",
            "<test>:2: app: unknown app 'chess' (known: auction, bank, checkout, counter, shopping-cart; "
            "or name your own app's files)",
        ),
        ("name: x\napp: counter\nseed: abc\n", "<test>:3: seed: expected int, got 'abc'"),
        ("name: x\napp: counter\nseed: true\n", "<test>:3: seed: expected int, got True"),
        ("name: x\napp: counter\nmax_duration: -1\n", "<test>:3: max_duration: must not be negative"),
        ("name: x\napp: counter\nstore: disk\n", "<test>:3: store: expected sqlite or memory"),
        ("name: x\napp: counter\nworkload: {keys: 0}\n", "<test>:3: workload.keys: must be at least 1"),
        ("name: x\napp: counter\ncluster: {nodes: 0}\n", "<test>:3: cluster.nodes: must be at least 1"),
        ("name: x\napp: counter\nfaults:\n  - {at: 1, kind: meteor}\n", "<test>:4: faults[0].kind: unknown fault kind"),
        (
            "name: x\napp: counter\nfaults:\n  - {at: 1, kind: partition}\n",
            "<test>:4: faults[0].groups: a partition needs two groups of endpoints",
        ),
        (
            "name: x\napp: counter\nfaults:\n  - {at: 1, kind: partition, groups: [[node-1]]}\n",
            "<test>:4: faults[0].groups: expected two lists of endpoint names",
        ),
        (
            "name: x\napp: counter\nlambda_baseline: true\n",
            "<test>:3: lambda_baseline: the lambda baseline exists for the checkout template only",
        ),
        ("app: counter\n", "<test>:1: name: missing"),
        ("name: [x\napp: counter\n", "<test>:2: not valid YAML:"),
        ("- name: x\n", "<test>:1: expected a mapping, got a list"),
        ("", "<test>: the file is empty"),
    ],
    ids=[
        "unknown-app",
        "seed-not-int",
        "seed-bool",
        "negative",
        "unknown-store",
        "no-keys",
        "no-nodes",
        "unknown-fault",
        "partition-no-groups",
        "partition-one-group",
        "lambda-not-checkout",
        "no-name",
        "not-yaml",
        "not-mapping",
        "empty",
    ],
)
def test_a_single_mistake_names_its_line_and_field(text: str, expected: str) -> None:
    lines = problems(text)
    assert lines[0].startswith(expected), lines
    assert {line.split(": ")[0] for line in lines} == {expected.split(": ")[0]}, lines  # one mistake, one line


def test_a_correct_file_parses_into_its_settings() -> None:
    experiment = parse_experiment(
        textwrap.dedent(
            """\
            name: checkouts
            app: checkout
            seed: 9
            store: memory
            cluster: {nodes: 4, shards: 8}
            services: {timeout_rate: 0.3, dedupe: false}
            workload: {mode: open, rate: 12, operations: 40, keys: 7, distribution: zipf}
            faults:
              - {at: 1, kind: partition, groups: [[node-1], [storage]], duration: 2}
            lambda_baseline: true
            """
        ),
        source="<test>",
    )
    assert (experiment.name, experiment.app, experiment.seed) == ("checkouts", "checkout", 9)
    assert experiment.store == "memory"
    assert (experiment.cluster.nodes, experiment.cluster.shards) == (4, 8)
    assert experiment.cluster.services.timeout_rate == 0.3 and experiment.cluster.services.dedupe is False
    assert (experiment.clients.mode, experiment.clients.rate, experiment.clients.operations) == ("open", 12.0, 40)
    assert (experiment.keys.keys, experiment.keys.distribution) == (7, "zipf")
    [fault] = experiment.faults
    assert (fault.kind, fault.at, fault.groups) == ("partition", 1.0, (("node-1",), ("storage",)))
    assert experiment.lambda_baseline is True


SHIPPED = sorted((ROOT / "experiments").glob("*.yaml"))


def test_there_are_shipped_experiments() -> None:
    assert SHIPPED


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_each_shipped_experiment_parses(path: Path) -> None:
    experiment = load_experiment(path)
    assert experiment.name and experiment.source == str(path)


def test_a_missing_experiment_file_is_a_bad_request(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="cannot read experiment file"):
        load_experiment(tmp_path / "nowhere.yaml")


# --- golemsim sim run, as a real subprocess ------------------------------------------------------


def sim_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "golemsim", "sim", "run", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_a_bad_experiment_file_exits_2_with_its_mistakes_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\napp: counter\nstore: memory\nseed: abc\nfaults:\n  - {at: 1, kind: meteor}\n")
    done = sim_run(str(path), "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert f"{path}:4: seed: expected int, got 'abc'" in lines
    assert any(line.startswith(f"{path}:6: faults[0].kind: unknown fault kind 'meteor'") for line in lines), lines
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_valid_run_writes_its_results_and_the_same_trace_as_an_in_process_run(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_COUNTERS)
    out = tmp_path / "out"
    done = sim_run(str(path), "--out", str(out), "--seed", "5", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "**VALID**" in done.stdout and "t=0.3s crash node-1 for 1 s" in done.stdout
    assert (out / "report.md").read_text() in done.stdout

    for name in ("report.md", "summary.json", "verdicts.json", "trace.jsonl", "history.jsonl"):
        assert (out / name).is_file(), name
    plots = sorted((out / "plots").glob("*.png"))
    assert len(plots) == 5 and all(p.read_bytes().startswith(b"\x89PNG") for p in plots)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["valid"] is True and summary["seed"] == 5 and summary["app"] == "counter"
    workers = summary["workers"]
    assert workers["counters"]["crashes"] == 1
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert [v["valid"] for v in verdicts] == [True] * 5  # three on the workers, two across their calls
    assert len((out / "trace.jsonl").read_text().splitlines()) == workers["trace_events"]
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    assert len(history) == 30 and all(op["outcome"] == "ok" for op in history)
    oplogs = SQLiteOplogStore(out / "oplogs-workers.db", fsync=False)
    try:
        assert len(oplogs.workers()) == workers["workers"] >= 1
    finally:
        oplogs.close()

    again = run_experiment(load_experiment(path), seed=5, out=tmp_path / "in-process")
    assert again.valid
    assert workers["trace_sha256"] == again.trace_digest
    assert history == [json.loads(json.dumps(op.record(), sort_keys=True)) for op in again.history]
    other_seed = run_experiment(load_experiment(path), seed=6)
    assert other_seed.trace_digest != again.trace_digest


@pytest.mark.slow
def test_a_run_a_checker_finds_invalid_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "double-charges.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: checkouts without dedup
            app: checkout
            store: memory
            seed: 4
            cluster: {nodes: 3, shards: 6}
            services: {latency: 0.01, timeout_rate: 0.3, dedupe: false}
            workload: {mode: closed, clients: 4, operations: 20, keys: 10}
            """
        )
    )
    out = tmp_path / "out"
    done = sim_run(str(path), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "**INVALID**" in done.stdout
    assert json.loads((out / "summary.json").read_text())["valid"] is False
    verdicts = {v["checker"]: v for v in json.loads((out / "verdicts.json").read_text())}
    effects = verdicts["effects-at-most-once-and-exactly-once-when-acknowledged"]
    assert not effects["valid"]
    assert any(e["problem"] == "applied more than once" for e in effects["counterexamples"])
    assert not verdicts["orders-whole-or-undone"]["valid"]
