"""What the tests share, imported from one place: ``from support import ROOT, ServeProcess, run``.

The folder ``tests/`` is on ``sys.path`` for every test (``pythonpath`` in pyproject.toml), so this
package imports the same way from tests/core, tests/sim or any other folder. Pytest fixtures stay in
tests/conftest.py; scripts run as child processes live in tests/children.
"""

from .c_builds import built_by
from .gateway_client import Reply, ServeProcess
from .paths import (
    AUCTION,
    BANK,
    C_CLOCK,
    CHECKOUT,
    CHILDREN,
    COUNTER,
    ROOT,
    SHOP_API,
    SHOPPING_CART,
    SNAPSHOT_KIT,
    TEMPLATES,
    TESTKIT,
    TESTKIT_CHANGED,
    TESTS,
)
from .repo_copy import copy_repository, repository_files, tracked_mode
from .shop import CHECKOUT_STEPS, LAMP_ORDER
from .sim_runs import COUNTERS_WITH_A_CRASH, experiment, failed, registry, run
from .waiting import wait_for, worker_status

__all__ = [
    "AUCTION",
    "BANK",
    "CHECKOUT",
    "CHECKOUT_STEPS",
    "CHILDREN",
    "COUNTER",
    "COUNTERS_WITH_A_CRASH",
    "C_CLOCK",
    "LAMP_ORDER",
    "ROOT",
    "SHOPPING_CART",
    "SHOP_API",
    "SNAPSHOT_KIT",
    "TEMPLATES",
    "TESTKIT",
    "TESTKIT_CHANGED",
    "TESTS",
    "Reply",
    "ServeProcess",
    "built_by",
    "copy_repository",
    "experiment",
    "failed",
    "registry",
    "repository_files",
    "run",
    "tracked_mode",
    "wait_for",
    "worker_status",
]
