"""A user's own app, as the README's "Your own app under faults" describes it: a folder outside
golemsim's holding the bank template, its API file, a workload, invariants and an experiment file.

tests/sim/test_user_app.py runs it with the repository's golemsim, tests/cli/test_wheel_install.py
with golemsim installed from a wheel into a fresh virtual env.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from .paths import BANK, TEMPLATES

WORKLOAD = '''
from golemsim.sim import Operation, Workload


class Transfers(Workload):
    """Accounts open with 100 each, then pass money round a ring."""

    state_function = {"bank": "state"}

    def setup(self, start_ms):
        return [
            Operation("open", "POST", f"/accounts/a{i}/deposit", {"amount": 100}, f"open-{i}")
            for i in range(self.keys.count)
        ]

    def next(self, rng, n, now_ms):
        source = self.keys.pick(rng)
        target = (source + 1) % self.keys.count
        body = {"to": f"a{target}", "amount": rng.randint(1, 30)}
        return Operation("transfer", "POST", f"/accounts/a{source}/transfers", body, f"transfer-{n}")
'''

INVARIANTS = """
from golemsim.sim import RunData, Verdict


def money_is_conserved(run: RunData) -> Verdict:
    total = sum(state["balance"] + state["in-doubt"] for state in run.final_states.values())
    expected = 100 * len(run.final_states)
    problems = [] if total == expected else [{"total": total, "expected": expected}]
    return Verdict("money-is-conserved", not problems, len(run.final_states), problems)


def money_doubles(run: RunData) -> Verdict:
    total = sum(state["balance"] for state in run.final_states.values())
    return Verdict("money-doubles", False, 1, [{"total": total, "wanted": 2 * total}])


def oops(run: RunData) -> Verdict:
    return run.no_such_field
"""

EXPERIMENT = """
name: my bank under a crash
app:
  templates: {bank: ./bank}
  api: ./bank.api.yaml
  workload: ./workload.py:Transfers
  invariants: [./invariants.py:money_is_conserved]
store: memory
seed: 3
cluster: {nodes: 2, shards: 4}
workload: {mode: closed, clients: 3, operations: 40, keys: 4}
faults:
  - {at: 0.5, kind: crash, target: node-1, duration: 1}
"""


def make_app(folder: Path, experiment: str = EXPERIMENT) -> Path:
    """The user's folder, outside golemsim's: template, API file, workload, invariants, experiment.
    Returns the experiment file's path."""
    folder.mkdir()
    shutil.copytree(BANK, folder / "bank", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(TEMPLATES / "bank.api.yaml", folder / "bank.api.yaml")
    (folder / "workload.py").write_text(textwrap.dedent(WORKLOAD))
    (folder / "invariants.py").write_text(textwrap.dedent(INVARIANTS))
    path = folder / "experiment.yaml"
    path.write_text(textwrap.dedent(experiment))
    return path
