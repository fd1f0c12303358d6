"""Bring your own worker: a folder of the user's own (a template, an API definition, a workload, an
invariant and an experiment file) runs with ``golemsim sim run`` from another directory, in a real
subprocess; mistakes in the user's files are reported with their file and line, and a broken
invariant fails the run with its counter-example."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from support import ROOT
from support.user_app import EXPERIMENT, INVARIANTS, make_app

from golemsim.sim.user_app import load_name, parse_reference


def sim_run(path: Path, out: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "golemsim", "sim", "run", str(path), "--out", str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd)


def test_a_users_own_app_runs_from_another_directory_and_its_invariant_is_checked(tmp_path: Path) -> None:
    make_app(tmp_path / "mine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = sim_run(Path("..") / "mine" / "experiment.yaml", tmp_path / "out", cwd=elsewhere)
    assert done.returncode == 0, (done.stdout, done.stderr)
    verdicts = {v["checker"]: v for v in json.loads((tmp_path / "out" / "verdicts.json").read_text())}
    assert verdicts["money-is-conserved"]["valid"] and verdicts["money-is-conserved"]["checked"] == 4
    assert verdicts["worker-calls-agree-with-targets"]["valid"] and verdicts["no-invocation-stuck"]["valid"]
    assert "workload.py:Transfers" in done.stdout


def test_an_invariant_that_fails_fails_the_run_with_its_counter_example(tmp_path: Path) -> None:
    experiment = make_app(tmp_path / "mine", EXPERIMENT.replace("money_is_conserved", "money_doubles"))
    done = sim_run(experiment, tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    verdicts = {v["checker"]: v for v in json.loads((tmp_path / "out" / "verdicts.json").read_text())}
    assert not verdicts["money-doubles"]["valid"]
    assert "wanted" in verdicts["money-doubles"]["counterexamples"][0]


def test_an_invariant_that_raises_names_the_users_file_and_line(tmp_path: Path) -> None:
    experiment = make_app(tmp_path / "mine", EXPERIMENT.replace("money_is_conserved", "oops"))
    done = sim_run(experiment, tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    verdicts = {v["checker"]: v for v in json.loads((tmp_path / "out" / "verdicts.json").read_text())}
    (problem,) = verdicts["invariants.py:oops"]["counterexamples"]
    line = INVARIANTS.splitlines().index("    return run.no_such_field") + 1
    assert problem["problem"].startswith(f"{tmp_path / 'mine' / 'invariants.py'}:{line}: AttributeError")


def test_mistakes_in_the_users_files_exit_2_each_with_its_file_and_line(tmp_path: Path) -> None:
    experiment = make_app(
        tmp_path / "mine",
        EXPERIMENT.replace("./bank.api.yaml", "./missing.api.yaml").replace(
            "[./invariants.py:money_is_conserved]", "[./invariants.py:nothing, ./broken.py:check]"
        ),
    )
    (tmp_path / "mine" / "broken.py").write_text("def check(run):\n    return (\n")
    done = sim_run(experiment, tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    errors = done.stderr
    assert f"{experiment}:5: app.api: no API definition file at" in errors
    assert "app.invariants[0]: " in errors and "defines no 'nothing'" in errors
    assert f"{tmp_path / 'mine' / 'broken.py'}:2: syntax error" in errors
    assert not (tmp_path / "out").exists()


COUNTER_WORKLOAD = """
from golemsim.sim import Operation, Workload


class Increments(Workload):
    state_function = {"counter": "get"}

    def next(self, rng, n, now_ms):
        return Operation("increment", "POST", f"/counters/c{self.keys.pick(rng)}/increment", {"by": 1}, f"op-{n}")
"""

COUNTER_EXPERIMENT = """
name: my counters updated to my version 2
app:
  templates: {counter: ./counter}
  api: ./counter.api.yaml
  workload: ./workload.py:Increments
store: memory
cluster: {nodes: 2, shards: 4}
workload: {mode: closed, clients: 3, operations: 60, keys: 5}
faults:
  - {at: 0.3, kind: template-update, target: counter, source: ./counter-v2, mode: auto}
"""


def test_a_template_update_takes_the_new_version_from_the_users_folder(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    for name in ("counter", "counter-v2"):
        shutil.copytree(ROOT / "templates" / name, mine / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "templates" / "counter.api.yaml", mine / "counter.api.yaml")
    (mine / "workload.py").write_text(textwrap.dedent(COUNTER_WORKLOAD))
    (mine / "experiment.yaml").write_text(textwrap.dedent(COUNTER_EXPERIMENT))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = sim_run(Path("..") / "mine" / "experiment.yaml", tmp_path / "out", cwd=elsewhere)
    assert done.returncode == 0, (done.stdout, done.stderr)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["valid"] and summary["workers"]["counters"]["updates_succeeded"] >= 1


CHARGES = """
from collections import Counter

from golemsim.sim import RunData, Verdict


def each_order_charged_at_most_once(run: RunData) -> Verdict:
    charged = Counter(r.key for r in run.services if r.operation == "charge" and r.outcome == "applied")
    twice = [{"key": key, "applied": n} for key, n in sorted(charged.items()) if n > 1]
    return Verdict("each-order-charged-at-most-once", not twice, len(charged), twice)
"""

CHECKOUT_API = """
name: my checkout
version: "1"
templates: {checkout: checkout}
routes:
  - method: POST
    path: /checkout
    template: checkout
    worker: {fresh: "order-"}
    function: run
    args: [body]
    response: {status: 201}
"""

CHECKOUT_EXPERIMENT = """
name: my checkouts, a node crashing
app:
  templates: {checkout: ./checkout}
  api: ./checkout.api.yaml
  workload: ./workload.py:Orders
  invariants: [./charges.py:each_order_charged_at_most_once]
store: memory
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05}
workload: {mode: open, rate: 30, operations: 40, keys: 40, timeout: 5, retries: 0}
faults:
  - {at: 0.6, kind: crash, target: node-1, duration: 1}
"""


def test_an_invariant_sees_what_the_external_services_received(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copytree(ROOT / "templates" / "checkout", mine / "checkout", ignore=shutil.ignore_patterns("__pycache__"))
    (mine / "checkout.api.yaml").write_text(textwrap.dedent(CHECKOUT_API))
    (mine / "workload.py").write_text("from golemsim.sim.workloads import CheckoutWorkload as Orders\n")
    (mine / "charges.py").write_text(textwrap.dedent(CHARGES))
    (mine / "experiment.yaml").write_text(textwrap.dedent(CHECKOUT_EXPERIMENT))
    done = sim_run(mine / "experiment.yaml", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    verdicts = {v["checker"]: v for v in json.loads((tmp_path / "out" / "verdicts.json").read_text())}
    charged = verdicts["each-order-charged-at-most-once"]
    assert charged["valid"] and charged["checked"] >= 30  # one charge per order that got that far


def test_an_edited_invariant_file_is_imported_afresh(tmp_path: Path) -> None:
    file = tmp_path / "checks.py"
    file.write_text("ANSWER = 1\n")
    reference = parse_reference("checks.py:ANSWER", tmp_path)
    assert load_name(reference) == 1
    file.write_text("ANSWER = 2\n")  # the same path, edited (a notebook cell written again)
    assert load_name(reference) == 2
    assert load_name(reference) == 2
