"""Seed campaigns (``golemsim sim campaign``) and shrinking (``golemsim sim shrink``).

The end-to-end test breaks something on purpose: the checkout's services stop deduplicating by
idempotency key, so a request re-sent after a crash or a lost answer is applied twice. A campaign
over a few seeds on a local Dask cluster (real runs, in a real subprocess) finds the seeds that
break, lists each with its replay command, and the replay reproduces the seed's trace; a campaign of
the same seeds on another cluster (by --scheduler) gives the same outcomes; and shrink turns a
failing seed's drawn faults into a smaller scripted plan that still fails. The other tests are
bad input, exiting 2 with one clear line, and the pieces (seed lists, ddmin, the fault plan as data).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from golemsim.cli import main
from golemsim.sim.campaign import describe_seeds, parse_seeds
from golemsim.sim.experiment import load_experiment, parse_experiment
from golemsim.sim.nemesis import Fault
from golemsim.sim.results import fault_from_dict, fault_to_dict
from golemsim.sim.shrink import FailingRun, ddmin, write_shrunk

CHECKOUT = ROOT / "experiments" / "checkout-crash.yaml"

NO_DEDUPE = """\
name: checkout with dedupe off
app: checkout
store: memory
cluster: {nodes: 3, shards: 6}
services: {latency: 0.05, dedupe: false}
workload: {mode: open, rate: 20, operations: 40, keys: 20, timeout: 5, retries: 0}
random_faults: {rates: {crash: 20, partition: 20, loss: 20}, start: 0.2, mean_duration: 0.5}
"""
"""A few seconds of checkouts under random crashes, partitions and message loss, with the services'
deduplication switched off: some seeds charge (or reserve, or email) twice."""

EFFECTS = "effects-at-most-once-and-exactly-once-when-acknowledged"


def golemsim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "golemsim", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=cwd)


def exit_and_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


# -- seeds --------------------------------------------------------------------------------------


def test_seeds_are_ranges_or_lists_in_order_each_once() -> None:
    assert parse_seeds("1-5") == [1, 2, 3, 4, 5]
    assert parse_seeds("7") == [7]
    assert parse_seeds("10-12, 1,2-3,11") == [1, 2, 3, 10, 11, 12]
    assert parse_seeds("0-0") == [0]
    assert describe_seeds([1, 2, 3, 7, 9, 10]) == "1-3, 7, 9-10"


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ("10-1", "the range 10-1 is empty"),
        ("a-b", "expected seeds as FIRST-LAST"),
        ("", "expected seeds as FIRST-LAST"),
        ("1-", "got '1-'"),
        ("-5", "got '-5'"),
        ("1,,2", "expected seeds as FIRST-LAST"),
        ("1.5", "got '1.5'"),
        ("1-100000000", "more than 10,000,000 seeds"),
    ],
)
def test_a_bad_seed_list_exits_2_naming_it(seeds: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = exit_and_error(["sim", "campaign", str(CHECKOUT), "--seeds", seeds], capsys)
    assert code == 2
    assert error.startswith("error: --seeds: ") and message in error and "\n" not in error


def test_bad_campaign_options_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = exit_and_error(["sim", "campaign", str(CHECKOUT), "--seeds", "1-2", "--workers", "0"], capsys)
    assert (code, error) == (2, "error: --workers must be at least 1, got 0")
    both = ["sim", "campaign", str(CHECKOUT), "--seeds", "1", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]
    code, error = exit_and_error(both, capsys)
    assert code == 2 and "with --scheduler the cluster has its own workers" in error
    missing = tmp_path / "missing.yaml"
    code, error = exit_and_error(["sim", "campaign", str(missing), "--seeds", "1-2", "--out", str(tmp_path)], capsys)
    assert code == 2 and error.startswith(f"error: cannot read experiment file {missing}")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\napp: counter\nseed: abc\n")
    code, error = exit_and_error(["sim", "campaign", str(bad), "--seeds", "1", "--out", str(tmp_path)], capsys)
    assert (code, error) == (2, f"{bad}:3: seed: expected int, got 'abc'")


def test_without_dask_a_campaign_exits_2_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    code, error = exit_and_error(["sim", "campaign", str(CHECKOUT), "--seeds", "1-3"], capsys)
    assert code == 2
    assert error == "error: golemsim sim campaign runs seeds on Dask, which is not installed: " + (
        "pip install 'golemsim[campaign]'"
    )


# -- shrink: bad input ---------------------------------------------------------------------------


def test_shrink_of_a_missing_or_unfit_results_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = exit_and_error(["sim", "shrink", str(tmp_path / "nowhere")], capsys)
    assert (code, error) == (2, f"error: no results folder at {tmp_path / 'nowhere'}")

    empty = tmp_path / "empty"
    empty.mkdir()
    code, error = exit_and_error(["sim", "shrink", str(empty)], capsys)
    assert (code, error) == (2, f"error: {empty} has no summary.json: not the results folder of a run")

    valid = tmp_path / "valid"
    valid.mkdir()
    (valid / "summary.json").write_text(json.dumps({"valid": True, "seed": 1}))
    code, error = exit_and_error(["sim", "shrink", str(valid)], capsys)
    assert (code, error) == (2, f"error: the run in {valid} was valid: there is no failure to shrink")

    old = tmp_path / "old"
    old.mkdir()
    (old / "summary.json").write_text(json.dumps({"valid": False, "seed": 1, "source": "<experiment>"}))
    code, error = exit_and_error(["sim", "shrink", str(old)], capsys)
    assert code == 2 and "names no experiment file or fault plan" in error

    code, error = exit_and_error(["sim", "shrink", str(old), "--max-runs", "0"], capsys)
    assert (code, error) == (2, "error: --max-runs must be at least 1, got 0")


# -- the pieces ----------------------------------------------------------------------------------


def test_ddmin_finds_the_two_faults_that_fail_together() -> None:
    faults = [Fault(float(i), "crash", f"node-{i % 3 + 1}", 1.0) for i in range(10)]
    culprits = {faults[3], faults[7]}
    tried: set[tuple[Fault, ...]] = set()

    def fails(plan: list[Fault]) -> bool:
        tried.add(tuple(plan))  # the shrinker runs each plan once
        return culprits <= set(plan)

    assert ddmin(faults, fails) == [faults[3], faults[7]]
    assert len(tried) < 30


def test_a_fault_plan_reads_back_as_the_same_faults() -> None:
    plan = [
        Fault(1.25, "crash", "node-2", 0.75),
        Fault(2.0, "partition", duration=3.0, groups=(("node-1",), ("storage", "gateway"))),
        Fault(3.5, "loss", rate=0.35, duration=1.0),
        Fault(4.0, "slow-storage", factor=20.0, duration=2.0),
        Fault(5.0, "storage-down", duration=0.5),
        Fault(6.0, "upgrade", mode="hard", duration=1.0),
        Fault(7.0, "template-update", target="counter", source="templates/counter-v2", mode="snapshot"),
    ]
    entries = [fault_to_dict(f) for f in plan]
    assert entries[0] == {"at": 1.25, "kind": "crash", "target": "node-2", "duration": 0.75}
    assert entries[6] == {
        "at": 7.0,
        "kind": "template-update",
        "target": "counter",
        "mode": "snapshot",
        "source": "templates/counter-v2",
    }
    assert [fault_from_dict(json.loads(json.dumps(e))) for e in entries] == plan
    text = "name: x\napp: counter\nfaults:\n" + "".join(f"  - {json.dumps(e)}\n" for e in entries)
    assert list(parse_experiment(text).faults) == plan


def test_shrunk_yaml_names_the_users_files_from_where_it_is_written(tmp_path: Path) -> None:
    """The shrunk file lives in the results folder, elsewhere than the original: its relative
    paths (templates, API, workload, invariants, a template update's folder) are rewritten."""
    from support.user_app import EXPERIMENT, make_app

    text = EXPERIMENT.replace(
        "faults:\n", "faults:\n  - {at: 1.5, kind: template-update, target: bank, source: ./bank}\n"
    ).replace("seed: 3\n", "seed: 3\nrandom_faults: {rates: {crash: 6}}\n")
    source = make_app(tmp_path / "mine", text)
    original = load_experiment(source)
    results = tmp_path / "results" / "deep" / "seed-9"
    results.mkdir(parents=True)
    plan = (Fault(0.25, "crash", "node-2", 0.5), *original.faults)
    run = FailingRun(results, source, 9, (*plan, Fault(3.0, "loss")), ("money-is-conserved",), 4.0, False)
    path = write_shrunk(run, original, plan, ["money-is-conserved"])
    assert path == results / "shrunk.yaml"
    text = path.read_text()
    assert text.startswith("# golemsim sim shrink: seed 9 of ../../../mine/experiment.yaml, 4 faults -> 3\n")
    assert "random_faults" not in text and "../../../mine/bank" in text
    shrunk = load_experiment(path)
    assert shrunk.seed == 9 and shrunk.random_faults is None
    assert shrunk.name == "my bank under a crash (seed 9, shrunk)"
    assert shrunk.files == original.files  # the same files, named from the results folder
    assert shrunk.faults[:2] == (plan[0], Fault(0.5, "crash", "node-1", 1.0))  # in the order they start
    update = shrunk.faults[2]
    assert update.kind == "template-update" and (path.parent / update.source).resolve() == source.parent / "bank"
    assert (shrunk.cluster, shrunk.clients, shrunk.keys, shrunk.store) == (
        original.cluster,
        original.clients,
        original.keys,
        original.store,
    )


# -- end to end ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_campaign_finds_the_seeds_that_break_and_shrink_makes_one_smaller(tmp_path: Path) -> None:
    from distributed import LocalCluster

    experiment = tmp_path / "no-dedupe.yaml"
    experiment.write_text(NO_DEDUPE)
    done = golemsim("sim", "campaign", "no-dedupe.yaml", "--seeds", "1-4", "--workers", "2", cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    folder = tmp_path / "results" / "campaign-no-dedupe"
    summary = json.loads((folder / "campaign.json").read_text())
    assert summary["seeds"] == "1-4" and summary["runs"] == 4
    assert [o["seed"] for o in summary["outcomes"]] == [1, 2, 3, 4]
    failing = summary["failing"]
    assert failing, "with dedupe off, some seed applies a request twice"
    effects = summary["checkers"][EFFECTS]
    assert effects["invalid_seeds"] == [f["seed"] for f in failing if EFFECTS in f["invalid"]]
    assert effects["valid"] + len(effects["invalid_seeds"]) == 4
    first = failing[0]
    seed, results = first["seed"], tmp_path / first["results"]
    replay = f"golemsim sim run no-dedupe.yaml --seed {seed} --out results/campaign-no-dedupe/seed-{seed}"
    assert first["replay"] == replay
    assert f"replay: `{replay}`" in done.stdout and f"| {EFFECTS} | {effects['valid']} |" in done.stdout
    assert (folder / "campaign.md").read_text() in done.stdout
    for seed_folder in (folder / f"seed-{f['seed']}" for f in failing):
        assert (seed_folder / "summary.json").is_file() and (seed_folder / "report.md").is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["campaign.json", "campaign.md", *(f"seed-{f['seed']}" for f in failing)]
    )

    # The same seeds, listed otherwise, on another cluster (one worker, reached by its address): the same outcomes.
    one = LocalCluster(
        n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
    )  # fmt: skip
    with one as cluster:
        again = golemsim(
            "sim", "campaign", "no-dedupe.yaml", "--seeds", "4,2-3,1", "--scheduler", cluster.scheduler_address,
            "--out", "again", cwd=tmp_path,
        )  # fmt: skip
    assert again.returncode == 1, (again.stdout, again.stderr)
    repeated = json.loads((tmp_path / "again" / "campaign.json").read_text())
    assert [{k: v for k, v in o.items() if k != "results"} for o in repeated["outcomes"]] == [
        {k: v for k, v in o.items() if k != "results"} for o in summary["outcomes"]
    ]

    # The replay command reproduces the seed exactly (the same trace).
    replayed = golemsim(*replay.split()[1:], cwd=tmp_path)
    assert replayed.returncode == 1, (replayed.stdout, replayed.stderr)
    run_summary = json.loads((results / "summary.json").read_text())
    assert run_summary["workers"]["trace_sha256"] == first["trace_sha256"]
    assert run_summary["source_path"] == str(experiment) and len(run_summary["fault_plan"]) == first["faults"]

    shrunk = golemsim("sim", "shrink", str(results), "--max-runs", "12", cwd=tmp_path)
    assert shrunk.returncode == 0, (shrunk.stdout, shrunk.stderr)
    assert "shrink: run 1/12: the scripted plan" in shrunk.stderr
    path = results / "shrunk.yaml"
    small = load_experiment(path)
    assert small.random_faults is None and small.seed == seed
    assert 1 <= len(small.faults) < first["faults"]
    assert f"shrunk seed {seed} of no-dedupe.yaml: {first['faults']} faults -> {len(small.faults)} fault" in (
        shrunk.stdout
    )
    assert f"replay: golemsim sim run {path} --out {results / 'shrunk'}" in shrunk.stdout
    rerun = golemsim("sim", "run", str(path), "--out", str(tmp_path / "shrunk-run"), cwd=tmp_path)
    assert rerun.returncode == 1, (rerun.stdout, rerun.stderr)
    verdicts = {v["checker"]: v["valid"] for v in json.loads((tmp_path / "shrunk-run" / "verdicts.json").read_text())}
    assert not all(verdicts[name] for name in first["invalid"]), verdicts


@pytest.mark.slow
def test_a_failure_without_faults_shrinks_to_no_faults_in_a_users_folder(tmp_path: Path) -> None:
    """An invariant that always fails: the plan shrinks to nothing, and shrunk.yaml replays it from
    the results folder with the user's files named relative to it."""
    from support.user_app import EXPERIMENT, make_app

    source = make_app(tmp_path / "mine", EXPERIMENT.replace("money_is_conserved", "money_doubles"))
    out = tmp_path / "out" / "run"
    done = golemsim("sim", "run", str(source), "--seed", "2", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 1, (done.stdout, done.stderr)
    shrunk = golemsim("sim", "shrink", str(out), cwd=tmp_path)
    assert shrunk.returncode == 0, (shrunk.stdout, shrunk.stderr)
    assert "1 fault -> 0 faults in 2 runs" in shrunk.stdout
    assert load_experiment(out / "shrunk.yaml").faults == ()
    rerun = golemsim("sim", "run", "shrunk.yaml", "--out", "again", cwd=out)
    assert rerun.returncode == 1 and "INVALID money-doubles" in rerun.stdout, rerun.stdout
    assert "## Faults\n\n- none\n" in rerun.stdout
