"""notebooks/sanitize.cfg, read by nbval's own parser: wall-clock figures written the agreed ways, and memory
addresses, compare equal between runs; simulated times and counts still have to match."""

from __future__ import annotations

import re

import pytest
from nbval.plugin import get_sanitize_patterns
from support import ROOT

PATTERNS = get_sanitize_patterns((ROOT / "notebooks" / "sanitize.cfg").read_text())


def sanitize(text: str) -> str:
    for regex, replace in PATTERNS:
        text = re.sub(regex, replace, text)
    return text


def test_every_section_is_read() -> None:
    sections = re.findall(r"^\[.+\]$", (ROOT / "notebooks" / "sanitize.cfg").read_text(), flags=re.MULTILINE)
    assert len(PATTERNS) == len(sections) == 4


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("600 orders (12.3 s wall)", "600 orders (0.9 s wall)"),
        ("ran in 3.2 s wall", "ran in 850 ms wall"),
        ("wall 12.3 s, 14 crashes", "wall 7 s, 14 crashes"),
        ("wall: 1.23 s", "wall: 0.40 s"),
        ("took 0.45 s", "took 2 s"),
        ("<Foo object at 0x7f3a2c1d5e50>", "<Foo object at 0x7f00deadbeef>"),
    ],
)
def test_wall_clock_figures_and_addresses_compare_equal(first: str, second: str) -> None:
    assert first != second
    assert sanitize(first) == sanitize(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("t = 12.3 s simulated", "t = 12.4 s simulated"),
        ("600 orders, 14 crashes", "600 orders, 13 crashes"),
        ("firewall 3 s", "firewall 4 s"),
        ("took 3 steps", "took 4 steps"),
    ],
)
def test_simulated_figures_still_have_to_match(first: str, second: str) -> None:
    assert sanitize(first) != sanitize(second)
