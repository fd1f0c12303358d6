"""The durable host's per-call shortcuts give exactly what the long way gives."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

import pytest

from golemsim.core.durable_host import KEY_NAMESPACE, _uuid5, canonical


def test_keys_are_the_uuid5_of_their_name() -> None:
    draw = random.Random(16)
    for _ in range(2_000):
        name = "".join(chr(draw.randrange(32, 0x3000)) for _ in range(draw.randrange(0, 60)))
        assert _uuid5(name) == str(uuid.uuid5(KEY_NAMESPACE, name))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        -0.0,
        float("inf"),
        "",
        "ünïcode",
        {"ok": None},
        {"millis": 5, "flag": False},
        {1: "int key"},
        {"nested": {"a": [1, 2]}},
        [1, (2, 3)],
        (1, "x"),
    ],
)
def test_canonical_is_the_json_round_trip(value: Any) -> None:
    expected = json.loads(json.dumps(value))
    got = canonical(value)
    assert json.dumps(got) == json.dumps(expected)
    assert type(got) is type(expected)
    if isinstance(value, dict):
        assert got is not value  # a copy: the caller's dict may change later
