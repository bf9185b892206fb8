"""The quote client: what a person will pay, from discount-engine and tax-calculation.

The one place that turns cart lines, an address and a coupon into `Totals`; the
checkout orchestrator re-prices with it and clients quote with it, so both agree to
the cent. Total = subtotal - discount + tax + shipping. Shipping: a flat 5.99, free when
the discounted subtotal reaches 50.00. A quote says when it was priced (`priced_at`, taken
before the first call), so a checkout started with it moments later need not be priced
again (docs/adr/0041).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from commerce.contracts.values import MAX_CENTS, Address, CheckoutLine, Totals
from commerce.platform.settings import Settings
from commerce.pricing.shipping import shipping_cents


class PricingError(Exception):
    """Base of the errors a quote can end in."""


class CouponInvalid(PricingError):
    pass


class AddressUnsupported(PricingError):
    pass


class PricingUnavailable(PricingError):
    pass


class TooLarge(PricingError):
    """More than one payment can carry (`MAX_CENTS`)."""

    def __init__(self) -> None:
        super().__init__(f"the total is over the most one payment can be ({MAX_CENTS / 100:,.2f})")


@dataclass(frozen=True)
class QuoteLine:
    sku: str
    quantity: int
    unit_price_cents: int
    discount_cents: int
    tax_cents: int


@dataclass(frozen=True)
class Quote:
    totals: Totals
    lines: list[QuoteLine]
    applied: list[dict[str, Any]]
    jurisdiction: str
    priced_at: datetime  # before discount-engine and tax-calculation were asked


async def _post(http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await http.post(url, json=body)
    except httpx.HTTPError as exc:
        raise PricingUnavailable(f"{url} did not answer: {type(exc).__name__}") from exc
    if response.status_code == 422:
        detail = response.json().get("detail")
        if isinstance(detail, dict):
            message = str(detail.get("message", "invalid request"))
            if detail.get("code") == "coupon_invalid":
                raise CouponInvalid(message)
            if detail.get("code") == "unsupported_address":
                raise AddressUnsupported(message)
        raise PricingError(f"{url} refused the request: {detail}")
    if response.status_code >= 500:
        raise PricingUnavailable(f"{url} answered {response.status_code}")
    response.raise_for_status()
    body_out: dict[str, Any] = response.json()
    return body_out


async def quote(
    http: httpx.AsyncClient,
    settings: Settings,
    *,
    user_id: str | None,
    lines: list[CheckoutLine],
    shipping_address: Address,
    coupon_code: str | None,
    currency: str = "USD",
) -> Quote:
    if sum(li.quantity * li.unit_price_cents for li in lines) > MAX_CENTS:
        raise TooLarge()
    priced_at = datetime.now(UTC)
    discounts = await _post(
        http,
        f"{settings.service_url('discount-engine')}/calculate-discounts",
        {
            "user_id": user_id, "currency": currency, "coupon_code": coupon_code,
            "lines": [
                {"sku": li.sku, "product_id": li.product_id, "category": li.category,
                 "quantity": li.quantity, "unit_price_cents": li.unit_price_cents}
                for li in lines
            ],
        },
    )  # fmt: skip
    per_line_discount = {d["sku"]: int(d["discount_cents"]) for d in discounts["lines"]}
    subtotal = sum(li.quantity * li.unit_price_cents for li in lines)
    discount = int(discounts["total_discount_cents"])
    shipping = shipping_cents(subtotal, discount)
    taxes = await _post(
        http,
        f"{settings.service_url('tax-calculation')}/calculate-tax",
        {
            "currency": currency, "shipping_address": shipping_address.model_dump(mode="json"),
            "shipping_cents": shipping,
            "lines": [
                {"sku": li.sku, "quantity": li.quantity, "unit_price_cents": li.unit_price_cents,
                 "discount_cents": per_line_discount.get(li.sku, 0), "tax_class": li.tax_class}
                for li in lines
            ],
        },
    )  # fmt: skip
    per_line_tax = {t["sku"]: int(t["tax_cents"]) for t in taxes["lines"]}
    tax = int(taxes["tax_cents"])
    if subtotal - discount + tax + shipping > MAX_CENTS:
        raise TooLarge()
    totals = Totals(
        subtotal_cents=subtotal, discount_cents=discount, tax_cents=tax, shipping_cents=shipping,
        total_cents=subtotal - discount + tax + shipping, currency=currency,
    )  # fmt: skip
    return Quote(
        totals=totals,
        lines=[
            QuoteLine(
                li.sku,
                li.quantity,
                li.unit_price_cents,
                per_line_discount.get(li.sku, 0),
                per_line_tax.get(li.sku, 0),
            )
            for li in lines
        ],
        applied=list(discounts["applied"]),
        jurisdiction=str(taxes["jurisdiction"]),
        priced_at=priced_at,
    )
