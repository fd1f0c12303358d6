"""What the checkout template does, in order, when an order goes through whole."""

CHECKOUT_STEPS = [
    ("inventory", "reserve"),
    ("payment", "charge"),
    ("shipping", "create-shipment"),
    ("warehouse", "dispatch"),
    ("email", "send"),
]
"""(service, operation) of each external call of a completed checkout."""
