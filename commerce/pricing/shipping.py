"""The shipping rule, free of I/O: a flat 5.99, free when the discounted subtotal
reaches 50.00."""

from __future__ import annotations

FLAT_SHIPPING_CENTS = 599
FREE_SHIPPING_FROM_CENTS = 5000


def shipping_cents(subtotal: int, discount: int) -> int:
    return 0 if subtotal - discount >= FREE_SHIPPING_FROM_CENTS else FLAT_SHIPPING_CENTS
