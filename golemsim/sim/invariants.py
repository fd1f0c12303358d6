"""The shipped apps' invariants, as an experiment file names them
(``invariants: [golemsim.sim.invariants:orders_consistent]``): each takes the run's data and
returns a Verdict, exactly like an invariant a user writes. The checks themselves live in
golemsim.sim.checkers, where they take plain values and are unit-tested.
"""

from __future__ import annotations

from ..core.errors import BadRequest
from . import checkers
from .checkers import Verdict
from .user_app import RunData
from .workloads import BankWorkload


def stock_never_negative(run: RunData) -> Verdict:
    """The shop's stock is never negative and moved only by applied reservations and releases."""
    return checkers.stock_never_negative(run.services, run.stock, run.opening_stock)


def orders_consistent(run: RunData) -> Verdict:
    """Every order ends whole (charged once, shipped, stock kept) or undone (nothing kept)."""
    return checkers.orders_consistent(run.services)


def auctions_charged_once(run: RunData) -> Verdict:
    """An auction has at most one winner, charged once."""
    return checkers.auctions_charged_once(run.services, run.final_states)


def carts_conserve_items(run: RunData) -> Verdict:
    """Merging carts moves items, never makes or loses them."""
    carts = [worker for worker in run.final_states if worker.template == "shopping-cart"]
    return checkers.carts_conserve_items(run.oplogs, run.final_states, carts)


def bank_conserves_money(run: RunData) -> Verdict:
    """Transfers between accounts never make or lose money (money in doubt aside)."""
    if not isinstance(run.workload, BankWorkload):
        raise BadRequest("bank_conserves_money needs the bank workload (golemsim.sim.workloads:BankWorkload)")
    accounts = run.workload.keys.count
    return checkers.bank_conserves_money(run.final_states, run.workload.opening_total, accounts=accounts)
