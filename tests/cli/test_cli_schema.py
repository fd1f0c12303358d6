"""`golemsim schema experiment|api`: JSON Schemas of the two YAML grammars. The committed copies under
schemas/ are what the command prints, every shipped experiment file and API definition (and what
`golemsim new` writes) validates against them, and they reject what the parsers reject for its shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from support import ROOT

from golemsim.cli import main
from golemsim.scaffold import write_scaffold
from golemsim.schemas import KINDS, schema

EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))
APIS = sorted((ROOT / "templates").glob("*.api.yaml"))


def validator(kind: str) -> jsonschema.Draft202012Validator:
    committed = json.loads((ROOT / "schemas" / f"{kind}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(committed)
    return jsonschema.Draft202012Validator(committed)


def errors(kind: str, document: Any) -> list[str]:
    return [error.message for error in validator(kind).iter_errors(document)]


@pytest.mark.parametrize("kind", KINDS)
def test_the_committed_schema_is_what_the_command_prints(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", kind]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == schema(kind)
    assert (ROOT / "schemas" / f"{kind}.schema.json").read_text() == printed, (
        f"schemas/{kind}.schema.json is stale: golemsim schema {kind} > schemas/{kind}.schema.json"
    )


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_shipped_experiment_validates(path: Path) -> None:
    assert errors("experiment", yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", APIS, ids=lambda p: p.name)
def test_every_shipped_api_definition_validates(path: Path) -> None:
    assert errors("api", yaml.safe_load(path.read_text())) == []


def test_what_golemsim_new_writes_validates(tmp_path: Path) -> None:
    folder = write_scaffold("mywallet", tmp_path)
    assert errors("experiment", yaml.safe_load((folder / "experiment.yaml").read_text())) == []
    assert errors("api", yaml.safe_load((folder / "mywallet.api.yaml").read_text())) == []


def test_the_experiment_schema_rejects_what_the_parser_rejects() -> None:
    good = yaml.safe_load((ROOT / "experiments" / "checkout-crash.yaml").read_text())
    assert errors("experiment", {**good, "app": "checkout"}) == []  # the short form
    assert errors("experiment", {**good, "colour": "red"})  # an unknown key
    assert errors("experiment", {**good, "app": "no-such-app"})
    assert errors("experiment", {**good, "faults": [{"at": 1, "kind": "meteor"}]})
    assert errors("experiment", {**good, "faults": [{"at": 1, "kind": "partition"}]})  # needs groups
    assert errors("experiment", {**good, "faults": [{"at": 1, "kind": "upgrade", "mode": "soft"}]})
    assert errors("experiment", {**good, "cluster": {"nodes": 0}})
    assert errors("experiment", {**good, "workload": {"mode": "open", "rate": -1}})
    assert errors("experiment", {**good, "random_faults": {"rates": {"upgrade": 1}}})
    assert errors("experiment", {**good, "cluster": {"snapshots": {"compaction": "archive"}}})
    assert errors("experiment", {k: v for k, v in good.items() if k != "name"})


def test_the_api_schema_rejects_what_the_parser_rejects() -> None:
    good = yaml.safe_load((ROOT / "templates" / "counter.api.yaml").read_text())
    route = good["routes"][0]
    assert errors("api", {**good, "routes": [{**route, "method": "get"}]}) == []  # any case, as the parser
    assert errors("api", {**good, "routes": []})
    assert errors("api", {**good, "routes": [{**route, "method": "FETCH"}]})
    assert errors("api", {**good, "routes": [{**route, "args": [{"path": "x", "default": 1}]}]})
    assert errors("api", {**good, "routes": [{**route, "args": [{"query": "a", "header": "b"}]}]})
    assert errors("api", {**good, "routes": [{**route, "response": {"status": 404}}]})
    assert errors("api", {**good, "services": "no-colon"})
    assert errors("api", {k: v for k, v in good.items() if k != "routes"})
