"""Where things are: the repository, its templates, the tests' own templates and child-process scripts.

Every path is computed here, from this file, so a test file can move between folders without its paths moving.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository's root (tests/support/paths.py is two folders below it)."""

TESTS = ROOT / "tests"
CHILDREN = TESTS / "children"
"""Scripts the tests run as child processes, and the --services factories `golemsim serve` imports from there."""

TESTKIT = TESTS / "templates" / "testkit"
TESTKIT_CHANGED = TESTS / "templates" / "testkit_changed"
SNAPSHOT_KIT = TESTS / "templates" / "snapshot_kit"
C_CLOCK = TESTS / "templates" / "c-clock"

TEMPLATES = ROOT / "templates"
COUNTER = TEMPLATES / "counter"
SHOPPING_CART = TEMPLATES / "shopping-cart"
AUCTION = TEMPLATES / "auction"
CHECKOUT = TEMPLATES / "checkout"
BANK = TEMPLATES / "bank"
SHOP_API = TEMPLATES / "shop.api.yaml"
