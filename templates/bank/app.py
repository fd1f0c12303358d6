"""The bank template: one durable account per worker, named by the account id.

The account lives in the guest's memory only; golemsim rebuilds it after a crash by
replaying the worker's oplog (from the newest snapshot on). Money moves between accounts
with worker-to-worker calls (``golem.invoke``), which golemsim makes durable and exactly
once: the caller waits for the other account's answer, and an answer is one of

* a result: the other account ran the call exactly once;
* ``ServiceRejected``: a definite refusal, the other account never ran it (or its invocation
  failed and its changes were discarded), so the money is paid back here;
* ``ServiceUnavailable``: it may or may not have happened, so the money is kept as
  ``in_doubt`` and never paid back (it may have arrived).
"""

import golemsim_guest as golem
import wit_world
from componentize_py_types import Err
from wit_world import Account

# The account, in one global so that a snapshot saves it whole.
_account = {"balance": 0, "in_doubt": 0, "transfers_out": 0, "refunds": 0}


def _withdraw(amount: int) -> int:
    balance = _account["balance"]
    if amount > balance:
        raise Err(f"insufficient funds: the balance is {balance}, {amount} asked")
    _account["balance"] = balance - amount
    return _account["balance"]


def _pause(delay_ms: int) -> None:
    if delay_ms > 0:
        golem.sleep(delay_ms / 1000)  # durable: a crash in the sleep does not start it again


def _send(to: str, amount: int, what: str, function: str, *args) -> object:
    """Invoke ``function(*args)`` on account ``to`` for ``amount`` already taken out here.

    Returns the other account's answer. A refusal pays the amount back here and raises Err
    "<what> refused: ..."; an unknown outcome keeps it in doubt and raises Err "<what> in doubt: ...".
    """
    try:
        return golem.invoke("bank", to, function, *args)
    except golem.ServiceRejected as refused:
        _account["balance"] += amount
        _account["refunds"] += 1
        raise Err(f"{what} refused: {refused}") from None
    except golem.ServiceUnavailable as unknown:
        _account["in_doubt"] += amount
        raise Err(f"{what} in doubt: {unknown}") from None


class WitWorld(golem.Snapshots, wit_world.WitWorld):
    snapshot_state = ("_account",)

    def deposit(self, amount: int) -> int:
        _account["balance"] += amount
        return _account["balance"]

    def withdraw(self, amount: int) -> int:
        return _withdraw(amount)

    def transfer(self, to: str, amount: int, delay_ms: int) -> int:
        _withdraw(amount)
        _pause(delay_ms)
        _send(to, amount, f"transfer to {to}", "deposit", amount)
        _account["transfers_out"] += 1
        return _account["balance"]

    def chain(self, path: list[str], amount: int, delay_ms: int) -> int:
        if not path:
            raise Err("chain: the path is empty")
        _withdraw(amount)
        _pause(delay_ms)
        to = path[0]
        if len(path) == 1:
            _send(to, amount, f"chain to {to}", "deposit", amount)
        else:
            # path[0] passes the amount on out of its own balance; this account pays it back after.
            onward = _send(to, amount, f"chain via {to}", "chain", path[1:], amount, delay_ms)
            if isinstance(onward, dict) and "err" in onward:
                # path[0]'s chain completed with an error: it and the accounts after it got
                # their amounts back (or keep them in doubt), so this one takes its own back.
                _account["balance"] += amount
                _account["refunds"] += 1
                raise Err(f"chain via {to} refused: {onward['err']}")
            _send(to, amount, f"chain via {to}: paying {to} back", "deposit", amount)
        _account["transfers_out"] += 1
        return _account["balance"]

    def state(self) -> Account:
        return Account(
            balance=_account["balance"],
            in_doubt=_account["in_doubt"],
            transfers_out=_account["transfers_out"],
            refunds=_account["refunds"],
        )
