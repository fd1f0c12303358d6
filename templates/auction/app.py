"""An auction: one worker per auction.

`create` opens it and schedules `close-auction` at the closing time with a durable timer. Bids are
accepted until then; `close-auction` picks the winner and charges them once. All state lives in the
guest's memory; golemsim rebuilds it after a crash by replaying the worker's oplog, where
every clock reading and the charge's answer are recorded.
"""

from dataclasses import dataclass, field

import golemsim_guest as golem
import wit_world
from componentize_py_types import Err
from wit_world import (
    AcceptedBid,
    AuctionState,
    BidError_Duplicate,
    BidError_NotOpen,
    BidError_TooLate,
    BidError_TooLow,
    CloseError_NotCreated,
    CloseError_Unavailable,
    CreateError,
    Outcome,
    Settlement_Charged,
    Settlement_NoWinner,
    Settlement_PaymentDeclined,
)

CURRENCY = "USD"
RETRY_CLOSE_MS = 60_000  # when the payment service is unreachable, close again this much later


@dataclass
class Auction:
    item: str
    reserve_price_cents: int
    closes_at_ms: int
    charge_key: str  # drawn once at creation: every attempt to charge the winner reuses it
    bids: list[AcceptedBid] = field(default_factory=list)
    outcome: Outcome | None = None  # set by the first close that settles

    def highest(self) -> AcceptedBid | None:
        return self.bids[-1] if self.bids else None  # each accepted bid exceeds the one before

    def settle(self) -> Outcome:
        """Charge the highest bidder if their bid meets the reserve price."""
        winner = self.highest()
        if winner is None or winner.amount_cents < self.reserve_price_cents:
            return Outcome(None, Settlement_NoWinner())
        _, name = golem.worker_id()
        charge = {
            "payment_method": f"account:{winner.bidder}",
            "amount_cents": winner.amount_cents,
            "currency": CURRENCY,
            "reference": f"auction/{name}",
        }
        try:
            answer = golem.call("payment", "charge", charge, key=self.charge_key)
        except golem.ServiceRejected as declined:
            return Outcome(winner, Settlement_PaymentDeclined(str(declined)))
        except golem.ServiceUnavailable as error:
            golem.schedule("close-auction", at_ms=golem.now_ms() + RETRY_CLOSE_MS)
            raise Err(CloseError_Unavailable(str(error))) from None
        return Outcome(winner, Settlement_Charged(answer["charge_id"]))


auction: Auction | None = None


class WitWorld(wit_world.WitWorld):
    def create(self, item: str, reserve_price_cents: int, closes_at_ms: int) -> None:
        global auction
        if auction is not None:
            raise Err(CreateError.ALREADY_CREATED)
        auction = Auction(item, reserve_price_cents, closes_at_ms, charge_key=golem.idempotency_key())
        golem.schedule("close-auction", at_ms=closes_at_ms)

    def bid(self, bidder: str, amount_cents: int) -> None:
        if auction is None:
            raise Err(BidError_NotOpen())
        now = golem.now_ms()
        if now >= auction.closes_at_ms:  # also after the timer closed it: the answer does not race the timer
            raise Err(BidError_TooLate())
        if auction.outcome is not None:  # the seller closed it early
            raise Err(BidError_NotOpen())
        if any(b.bidder == bidder and b.amount_cents == amount_cents for b in auction.bids):
            raise Err(BidError_Duplicate())
        highest = auction.highest()
        minimum = highest.amount_cents + 1 if highest else 1
        if amount_cents < minimum:
            raise Err(BidError_TooLow(minimum))
        auction.bids.append(AcceptedBid(bidder, amount_cents, now))

    def status(self) -> wit_world.AuctionStatus:
        if auction is None:
            return wit_world.AuctionStatus("", AuctionState.NOT_CREATED, 0, 0, None, None, None, None)
        outcome = auction.outcome
        settlement = outcome.settlement if outcome else None
        return wit_world.AuctionStatus(
            item=auction.item,
            state=AuctionState.CLOSED if outcome else AuctionState.OPEN,
            reserve_price_cents=auction.reserve_price_cents,
            closes_at_ms=auction.closes_at_ms,
            highest_bid=auction.highest(),
            winner=outcome.winner if outcome else None,
            charge_id=settlement.value if isinstance(settlement, Settlement_Charged) else None,
            settlement=settlement,
        )

    def bids(self) -> list[AcceptedBid]:
        return [] if auction is None else list(auction.bids)

    def close_auction(self) -> Outcome:
        if auction is None:
            raise Err(CloseError_NotCreated())
        if auction.outcome is None:  # the first close settles; later ones return the same outcome
            auction.outcome = auction.settle()
        return auction.outcome
