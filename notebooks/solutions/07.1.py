"""Solution to 07.1: make the order's Idempotency-Key ONCE, before the first attempt, and send
every attempt with it. A lost answer is then harmless: the retry names the same checkout worker,
which answers with its first outcome instead of running (and charging) again, even after the
server was killed and restarted, since that outcome is in the worker's oplog."""

import uuid

from golemsim.teach import check


def place_order(send, order):
    key = f"order-{uuid.uuid4()}"  # one key per order, not per attempt
    while True:
        try:
            return send(order, key)
        except ConnectionError:  # the answer was lost: the order may or may not have run
            continue  # so ask again, with the same key


answer = place_order
grade = check("07.1", answer)
