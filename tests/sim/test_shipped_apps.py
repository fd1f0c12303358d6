"""The shipped apps are experiment files of the user's form: ``app: NAME`` is only short for their
files, the runner knows no app by name, and golemsim's own workloads and invariants are named by
``package.module:NAME`` references exactly as a user's are."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import ROOT

from golemsim.core.errors import BadRequest
from golemsim.core.oplog.memory_store import MemoryOplogStore
from golemsim.sim.experiment import ExperimentError, load_experiment, parse_experiment
from golemsim.sim.invariants import bank_conserves_money
from golemsim.sim.shipped_apps import SHIPPED_APPS, shipped_app
from golemsim.sim.user_app import Reference, RunData, load_invariant, load_workload, parse_reference
from golemsim.sim.workloads import CheckoutWorkload

EXPERIMENTS = ROOT / "experiments"


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_experiment_names_its_files(path: Path) -> None:
    assert "\napp:\n" in path.read_text(), f"{path.name} should name its app's files, as a user's experiment does"
    experiment = load_experiment(path)
    assert experiment.files.templates and all(folder.exists() for folder in experiment.files.templates.values())
    assert experiment.files.api.is_file()


@pytest.mark.parametrize(
    ("name", "experiment"),
    [("checkout", "checkout-crash"), ("shopping-cart", "shopping-cart-partitions"), ("bank", "bank-transfers")],
)
def test_a_shipped_name_is_short_for_the_files_its_experiment_names(name: str, experiment: str) -> None:
    short = parse_experiment(f"name: short\napp: {name}\n")
    assert short.files == load_experiment(EXPERIMENTS / f"{experiment}.yaml").files
    assert short.app == name


def test_an_unknown_shipped_name_lists_the_known_ones() -> None:
    with pytest.raises(ExperimentError) as caught:
        parse_experiment("name: x\napp: bakery\n", source="<test>")
    assert "unknown app 'bakery' (known: " + ", ".join(sorted(SHIPPED_APPS)) in str(caught.value)
    with pytest.raises(BadRequest, match="unknown app 'bakery'"):
        shipped_app("bakery")


def test_a_module_reference_names_golemsim_s_own_workload_and_invariants() -> None:
    reference = parse_reference("golemsim.sim.workloads:CheckoutWorkload", Path("/nowhere"))
    assert reference == Reference(None, "CheckoutWorkload", module="golemsim.sim.workloads")
    assert str(reference) == "golemsim.sim.workloads:CheckoutWorkload"
    assert load_workload(reference) is CheckoutWorkload
    assert callable(load_invariant(parse_reference("golemsim.sim.invariants:orders_consistent", Path("."))))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("golemsim.sim.workloads:Nothing", "golemsim.sim.workloads defines no 'Nothing'"),
        ("golemsim.nosuchmodule:Orders", "cannot import golemsim.nosuchmodule"),
        ("golemsim.sim.workloads", "expected FILE.py:NAME or package.module:NAME"),
    ],
)
def test_a_bad_module_reference_is_named(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        load_workload(parse_reference(text, Path(".")))


def test_a_bad_module_reference_in_an_experiment_is_listed_with_its_line() -> None:
    text = (
        "name: x\napp:\n  templates: {checkout: ../templates/checkout}\n  api: ../templates/shop.api.yaml\n"
        "  workload: golemsim.sim.workloads:Nothing\n  invariants: [golemsim.sim.invariants:nope]\n"
    )
    with pytest.raises(ExperimentError) as caught:
        parse_experiment(text, source=str(EXPERIMENTS / "inline.yaml"))
    lines = str(caught.value).splitlines()
    assert any(":5: app.workload: golemsim.sim.workloads defines no 'Nothing'" in line for line in lines), lines
    assert any(":6: app.invariants[0]: golemsim.sim.invariants defines no 'nope'" in line for line in lines), lines


def test_the_bank_invariant_needs_the_bank_workload() -> None:
    with pytest.raises(BadRequest, match="needs the bank workload"):
        bank_conserves_money(RunData([], {}, MemoryOplogStore()))
