"""What clients send: one workload per shipped app, over a key distribution (a user's app
brings its own Workload subclass, named by its experiment file).

A workload turns (random source, operation number) into an HTTP request for the gateway,
always with an Idempotency-Key, so a client's retry is recognised as the same request.
"""

from __future__ import annotations

import bisect
import itertools
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from ..core.errors import BadRequest

SKUS = [f"sku-{i}" for i in range(10)]
ADDRESS = {"name": "Ada", "street": "1 Loop St", "city": "Delft", "postcode": "2611", "country": "NL"}


@dataclass(frozen=True)
class Operation:
    """One client request."""

    name: str
    method: str
    path: str
    body: Any
    key: str


class Keys:
    """Picks one of ``count`` keys: uniformly, or Zipf-distributed (a few hot keys)."""

    def __init__(self, count: int, distribution: str = "uniform", zipf_s: float = 1.1) -> None:
        if count < 1:
            raise BadRequest("a workload needs at least one key")
        if distribution not in ("uniform", "zipf"):
            raise BadRequest(f"unknown key distribution {distribution!r}; use uniform or zipf")
        self.count = count
        self.distribution = distribution
        self._cumulative: list[float] = []
        if distribution == "zipf":
            weights = [1.0 / (rank**zipf_s) for rank in range(1, count + 1)]
            self._cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> int:
        if self.distribution == "uniform":
            return rng.randrange(self.count)
        point = rng.random() * self._cumulative[-1]
        return min(self.count - 1, bisect.bisect_left(self._cumulative, point))


class Workload(ABC):
    """An app's traffic: the requests its clients send, and how a worker's state is read at the end."""

    state_function: dict[str, str]
    """A read-only export per template that shows a worker's state."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def setup(self, start_ms: int) -> list[Operation]:
        """Requests sent once before the clients start (none by default)."""
        return []

    @abstractmethod
    def next(self, rng: random.Random, n: int, now_ms: int) -> Operation:
        """The ``n``-th request."""


class CounterWorkload(Workload):
    state_function = {"counter": "get"}

    def next(self, rng: random.Random, n: int, now_ms: int) -> Operation:
        counter = self.keys.pick(rng)
        return Operation("increment", "POST", f"/counters/c{counter}/increment", {"by": 1}, f"op-{n}")


class CheckoutWorkload(Workload):
    state_function = {"checkout": "status"}

    def next(self, rng: random.Random, n: int, now_ms: int) -> Operation:
        customer = self.keys.pick(rng)
        skus = rng.sample(SKUS, rng.randint(1, 2))
        order = {
            "email": f"customer-{customer}@example.com",
            "items": [{"sku": s, "quantity": rng.randint(1, 3), "unit-price-cents": 250} for s in skus],
            "payment-method": "card-ok",
            "address": ADDRESS,
            "currency": "EUR",
        }
        return Operation("checkout", "POST", "/checkout", order, f"checkout-{n}")


class CartWorkload(Workload):
    state_function = {"shopping-cart": "get-cart", "checkout": "status"}

    def next(self, rng: random.Random, n: int, now_ms: int) -> Operation:
        user = self.keys.pick(rng)
        item = {"sku": rng.choice(SKUS), "quantity": rng.randint(1, 2), "unit-price-cents": 300}
        roll = rng.random()
        key = f"cart-{n}"
        if roll < 0.5:
            return Operation("add-item", "POST", f"/users/{user}/shopping-cart/items", item, key)
        if roll < 0.8:
            return Operation("add-item-anon", "POST", f"/anon/d{user}/shopping-cart/items", item, key)
        if roll < 0.95:
            return Operation("merge", "POST", f"/users/{user}/shopping-cart/merge/d{user}", None, key)
        return Operation("get-cart", "GET", f"/users/{user}/shopping-cart", None, key)


class AuctionWorkload(Workload):
    state_function = {"auction": "status"}

    def __init__(self, keys: Keys, closes_after_s: float = 5.0) -> None:
        super().__init__(keys)
        self.closes_after_ms = int(closes_after_s * 1000)

    def setup(self, start_ms: int) -> list[Operation]:
        return [
            Operation(
                "create",
                "PUT",
                f"/auctions/lot-{i}",
                {"item": f"lot {i}", "reserve-price-cents": 100, "closes-at-ms": start_ms + self.closes_after_ms},
                f"create-{i}",
            )
            for i in range(self.keys.count)
        ]

    def next(self, rng: random.Random, n: int, now_ms: int) -> Operation:
        lot = self.keys.pick(rng)
        body = {"bidder": f"bidder-{rng.randrange(50)}", "amount-cents": 100 + n * 10 + rng.randrange(10)}
        return Operation("bid", "POST", f"/auctions/lot-{lot}/bids", body, f"bid-{n}")


class BankWorkload(Workload):
    """Accounts opened with the same balance, then transfers between random pairs of them; each
    transfer is one worker-to-worker call (withdraw here, deposit there)."""

    state_function = {"bank": "state"}
    DELAYS_MS = (0, 0, 20, 100)
    """The pause a transfer makes before its call, drawn uniformly from these."""

    def __init__(self, keys: Keys, opening_balance: int = 1000) -> None:
        if keys.count < 2:
            raise BadRequest("the bank workload needs at least two accounts (keys: 2 or more)")
        super().__init__(keys)
        self.opening_balance = opening_balance

    @property
    def opening_total(self) -> int:
        """The money ``setup`` deposits over all accounts (what bank-conserves-money expects)."""
        return self.opening_balance * self.keys.count

    @staticmethod
    def account(index: int) -> str:
        return f"acct-{index}"

    def setup(self, start_ms: int) -> list[Operation]:
        return [
            Operation(
                "deposit",
                "POST",
                f"/accounts/{self.account(i)}/deposit",
                {"amount": self.opening_balance},
                f"open-{i}",
            )
            for i in range(self.keys.count)
        ]

    def next(self, rng: random.Random, n: int, now_ms: int) -> Operation:
        source = self.keys.pick(rng)
        target = rng.randrange(self.keys.count - 1)  # any other account, uniformly
        target += target >= source
        # Some transfers pause between the withdrawal and the call (a durable sleep), so that two
        # accounts paying each other overlap: the second call closes a cycle and is refused.
        delay_ms = rng.choice(self.DELAYS_MS)
        body = {"to": self.account(target), "amount": rng.randint(1, 50), "delay-ms": delay_ms}
        return Operation("transfer", "POST", f"/accounts/{self.account(source)}/transfers", body, f"transfer-{n}")
