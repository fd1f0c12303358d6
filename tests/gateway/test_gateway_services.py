"""Which external services `golemsim serve` runs with: the one named, or a plain ledger that knows no shop."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from support import ROOT, TEMPLATES

from golemsim.core import BadRequest, LedgerRegistry
from golemsim.gateway import load_api_definition
from golemsim.gateway.server import make_services
from golemsim.shop import ShopServices

GATEWAY = ROOT / "golemsim" / "gateway"


def imported_modules(source: Path) -> set[str]:
    """The modules a file imports, relative ones resolved against golemsim.gateway."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            package = ["golemsim", "gateway"][: 3 - node.level] if node.level else []
            found.add(".".join([*package, node.module or ""]).rstrip("."))
    return found


def test_the_gateway_imports_nothing_from_the_shop() -> None:
    for source in GATEWAY.glob("*.py"):
        shop = [name for name in imported_modules(source) if name.startswith("golemsim.shop")]
        assert shop == [], f"{source.name} imports {shop}"


def test_no_services_named_means_a_plain_echoing_ledger(tmp_path: Path) -> None:
    registry = make_services(None, tmp_path / "golem.db")
    assert type(registry) is LedgerRegistry
    assert registry.ledger.path == tmp_path / "golem.db-services.db"
    answer = registry.get("payment").handle("charge", {"amount": 5}, "k1")
    assert answer == {"service": "payment", "operation": "charge", "payload": {"amount": 5}}  # no shop rules


def test_named_services_are_made_by_their_factory(tmp_path: Path) -> None:
    registry = make_services("golemsim.shop:ShopServices", tmp_path / "golem.db")
    assert isinstance(registry, ShopServices)
    assert registry.path == tmp_path / "golem.db-services.db"
    registry.close()
    with pytest.raises(BadRequest, match="has no callable"):
        make_services("golemsim.shop:NoSuchThing", tmp_path / "golem.db")


@pytest.mark.parametrize("definition", sorted(TEMPLATES.glob("*.api.yaml")), ids=lambda p: p.name)
def test_shipped_definitions_whose_templates_call_services_name_them(definition: Path) -> None:
    api = load_api_definition(definition)
    callers = sorted(
        name
        for name, folder in api.templates.items()
        if any("golem.call(" in source.read_text() for source in Path(folder).rglob("*.py"))
    )
    if callers:
        assert api.services == "golemsim.shop:ShopServices", f"{callers} call external services"
