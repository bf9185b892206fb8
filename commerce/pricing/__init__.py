"""Quotes: what a person will pay, from discount-engine and tax-calculation.

`client.py` is the one place that turns cart lines, an address and a coupon into
`Totals` (over HTTP); `shipping.py` is the shipping rule (pure). The checkout
orchestrator re-prices with it and clients quote with it, so both agree to the cent.
"""

from __future__ import annotations

from commerce.pricing.client import (
    AddressUnsupported,
    CouponInvalid,
    PricingError,
    PricingUnavailable,
    Quote,
    QuoteLine,
    TooLarge,
    quote,
)
from commerce.pricing.shipping import FLAT_SHIPPING_CENTS, FREE_SHIPPING_FROM_CENTS, shipping_cents

__all__ = [
    "FLAT_SHIPPING_CENTS",
    "FREE_SHIPPING_FROM_CENTS",
    "AddressUnsupported",
    "CouponInvalid",
    "PricingError",
    "PricingUnavailable",
    "Quote",
    "QuoteLine",
    "TooLarge",
    "quote",
    "shipping_cents",
]
