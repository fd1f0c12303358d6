"""A real executor in a child process running bank transfers, for tests that SIGKILL it.

Usage: python bank_child.py DB ACCOUNTS TRANSFERS SEED

Opens ACCOUNTS accounts with 100 each, then submits TRANSFERS transfers between random pairs
(seeded, so every run of the child sends the same ones with the same keys) all at once, so
that transfers wait on each other's accounts and some close call cycles. Prints
"ack KEY RESULT" as each completes. Run again after a kill, it gets the first answers back.
"""

from __future__ import annotations

import json
import random
import sys
from concurrent.futures import as_completed
from pathlib import Path

from golemsim import Executor

BANK = Path(__file__).resolve().parents[2] / "templates" / "bank"  # tests/children/ is two below the root


def transfers(accounts: int, count: int, seed: int) -> list[tuple[str, str, str, int, int]]:
    """(key, from, to, amount, delay-ms) for every transfer the child sends."""
    rng = random.Random(seed)
    plan = []
    for i in range(count):
        src, dst = rng.sample(range(accounts), 2)
        plan.append((f"t{i}", f"acct-{src}", f"acct-{dst}", rng.randint(1, 30), rng.choice([0, 5, 20, 50])))
    return plan


def main() -> None:
    db, accounts, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    with Executor.open(db, suspend_after=0.05) as ex:
        if not ex.list_templates():
            ex.deploy(BANK)
        for i in range(accounts):
            ex.invoke("bank", f"acct-{i}", "deposit", [100], idempotency_key=f"open-{i}")
        futures = {
            ex.submit("bank", src, "transfer", [dst, amount, delay], idempotency_key=key): key
            for key, src, dst, amount, delay in transfers(accounts, count, seed)
        }
        for future in as_completed(futures):
            print(f"ack {futures[future]} {json.dumps(future.result())}", flush=True)


if __name__ == "__main__":
    main()
