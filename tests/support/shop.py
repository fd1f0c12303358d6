"""What the checkout template does, in order, when an order goes through whole, and an order for it."""

CHECKOUT_STEPS = [
    ("inventory", "reserve"),
    ("payment", "charge"),
    ("shipping", "create-shipment"),
    ("warehouse", "dispatch"),
    ("email", "send"),
]
"""(service, operation) of each external call of a completed checkout."""

LAMP_ORDER = {
    "email": "ada@example.com",
    "items": [{"sku": "lamp", "quantity": 2, "unit-price-cents": 1500}],
    "payment-method": "card-ok",
    "address": {"name": "Ada", "street": "1 Loop St", "city": "Delft", "postcode": "2611", "country": "NL"},
    "currency": "EUR",
}
"""An order of two lamps (3,000 cents) that goes through whole."""
