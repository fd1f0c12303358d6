"""The external services of ``golemsim serve`` in bench/bench_scaleout.py: "noop" does nothing.

The API definition (scaleout.api.yaml) names ``noop_services:registry``; the bench puts this
folder on PYTHONPATH of every serve process. The same in-process no-op service as bench_core's,
so the three steps cost what DBOS's three no-op steps cost: the durable record, not the call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from golemsim import ServiceRegistry


class Noop:
    def handle(self, operation: str, payload: Any, idempotency_key: str) -> Any:
        return None


def registry(ledger_path: str | Path) -> ServiceRegistry:
    """The factory ``serve`` calls with the ledger path it would use (unused: no ledger)."""
    return ServiceRegistry({"noop": Noop()})
