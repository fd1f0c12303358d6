"""The PostgreSQL server of the tests: one throwaway server per test session, one fresh database per test.

A missing server skips the PostgreSQL tests, naming what to install, but fails them under CI
(CI=true), where .ci/setup.sh installs Debian's postgresql.
"""

from __future__ import annotations

import itertools
import os

import pytest

from golemsim.throwaway_postgres import PostgresUnavailable, ThrowawayPostgres

_names = itertools.count(1)


def start_server() -> ThrowawayPostgres:
    try:
        return ThrowawayPostgres().start()
    except PostgresUnavailable as missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing}; CI must run the PostgreSQL tests")
        pytest.skip(str(missing))


def fresh_database(server: ThrowawayPostgres) -> str:
    """A new empty database on the server (databases are cheap; tests never share one)."""
    return server.create_database(f"test_{os.getpid()}_{next(_names)}")
