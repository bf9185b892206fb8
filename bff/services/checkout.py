"""Coupons, quotes and checkouts: what the person would pay, starting the saga at the total
they approved, and following it (status and timeline, the person's own only)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
from cachetools import TTLCache
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bff.errors import ApiError, not_found
from bff.services import cart, catalog
from bff.shedding import shed_if_behind
from bff.tables import checkouts, users
from bff.upstream import call
from commerce import pricing
from commerce.contracts.checkout import InitiateCheckoutCommand
from commerce.contracts.values import MAX_CHECKOUT_LINES, Address, CheckoutLine, Contact
from commerce.platform.db import as_dict, fetch
from commerce.platform.service import ServiceRuntime, Slot
from shopapi.schemas import (
    CheckoutPublic,
    CouponCheckCreate,
    CouponCheckPublic,
    PromotionsPublic,
    QuoteCreate,
    QuotePublic,
    TimelinePublic,
)

Source = Literal["web", "assistant", "agent", "cli", "load-test"]
MAX_QUANTITY = 1000  # of one item in a line, as `CheckoutLine` takes it


async def check_coupon(
    runtime: ServiceRuntime, user: str, body: CouponCheckCreate
) -> CouponCheckPublic:
    """Whether a coupon would apply to these lines (prices from the catalog): unknown,
    expired, used, or below its minimum answer `applies: false` with the reason."""
    wanted: dict[str, int] = {}
    for li in body.lines:
        wanted[li.sku] = wanted.get(li.sku, 0) + li.quantity
    skus = await asyncio.gather(*(catalog.sku(runtime, sku) for sku in wanted))
    request = {
        "user_id": user, "currency": "USD", "coupon_code": body.code,
        "lines": [
            {"sku": s["sku"], "product_id": s["product_id"], "category": s["category"],
             "quantity": wanted[s["sku"]], "unit_price_cents": s["price_cents"]}
            for s in skus
        ],
    }  # fmt: skip
    url = f"{runtime.url_of('discount-engine')}/calculate-discounts"
    try:
        response = await runtime.http.post(url, json=request)
    except httpx.HTTPError as exc:
        raise ApiError(
            503, "service_unavailable", "Coupons cannot be checked right now; try again shortly.",
            error_type="api_error",
        ) from exc  # fmt: skip
    detail = response.json().get("detail") if response.status_code == 422 else None
    if isinstance(detail, dict) and detail.get("code") == "coupon_invalid":
        return CouponCheckPublic(
            code=body.code.upper(), applies=False, reason=str(detail["message"])
        )
    if response.status_code == 422:  # e.g. more than 1000 of one SKU once lines are merged
        raise ApiError(422, "invalid_lines", "These lines cannot be priced.", param="lines")
    if response.status_code >= 400:
        raise ApiError(
            503, "service_error", f"The discount-engine service failed ({response.status_code}).",
            error_type="api_error",
        )  # fmt: skip
    found = response.json()
    mine = [a for a in found["applied"] if (a.get("code") or "").upper() == body.code.upper()]
    return CouponCheckPublic(
        code=body.code.upper(), applies=True,
        discount_cents=sum(int(a["discount_cents"]) for a in mine),
    )  # fmt: skip


async def promotions(runtime: ServiceRuntime) -> PromotionsPublic:
    """The discount engine's promotions on offer now."""
    found = await call(runtime, "discount-engine", "GET", "/promotions")
    return PromotionsPublic.model_validate({"items": found})


async def quote(
    runtime: ServiceRuntime, user: str, body: QuoteCreate
) -> tuple[str, list[CheckoutLine], pricing.Quote]:
    """The cart priced for this address and coupon: (cart id, its lines, the quote)."""
    cart_id, lines = await cart.checkout_lines(runtime, user)
    return cart_id, lines, await _priced(runtime, user, lines, body)


async def quote_lines(
    runtime: ServiceRuntime, user: str, wanted: Sequence[tuple[str, int]], body: QuoteCreate
) -> tuple[list[CheckoutLine], pricing.Quote]:
    """Items that need not be in the cart ((sku, quantity), priced by the catalog) quoted
    for this address and coupon as a checkout of them would be; the cart is not read or
    changed. 404 for an unknown SKU, 422 for more lines than a checkout holds."""
    if not wanted or len(wanted) > MAX_CHECKOUT_LINES:
        raise ApiError(
            422, "invalid_lines",
            f"A quote holds 1 to {MAX_CHECKOUT_LINES} different items.", param="lines",
        )  # fmt: skip
    merged: dict[str, int] = {}
    for sku, quantity in wanted:
        merged[sku] = merged.get(sku, 0) + quantity
    if any(not 1 <= quantity <= MAX_QUANTITY for quantity in merged.values()):
        raise ApiError(
            422, "invalid_lines", f"A line holds 1 to {MAX_QUANTITY} of an item.", param="lines"
        )
    found = await asyncio.gather(*(catalog.sku(runtime, sku) for sku in merged))
    lines = [
        CheckoutLine(sku=s["sku"], product_id=s["product_id"], name=s["name"], quantity=merged[s["sku"]],
                     unit_price_cents=s["price_cents"], tax_class=s["tax_class"], category=s["category"])
        for s in found
    ]  # fmt: skip
    return lines, await _priced(runtime, user, lines, body)


# The order service's answer to "do you deliver there?" per (country, region), kept a
# minute: one lookup per place, not one per quote (the order step still checks each order).
DELIVERABLE: Slot[TTLCache[tuple[str, str], str | None]] = Slot(
    lambda _runtime: TTLCache(maxsize=10_000, ttl=60)
)


async def _delivery_refusal(runtime: ServiceRuntime, address: Address) -> str | None:
    """Why the shop does not deliver to `address`, or None when it does."""
    known = DELIVERABLE.of(runtime)
    key = (address.country, (address.region or "").upper())
    if key not in known:
        where = {"country": key[0], **({"region": key[1]} if key[1] else {})}
        check = await call(runtime, "order", "GET", "/deliverable", params=where)
        known[key] = None if check["deliverable"] else str(check["reason"])
    return known[key]


# The quotes given in the last CHECKOUT_ORCHESTRATOR_QUOTE_FRESH_SECONDS, by everything
# they were asked for: a checkout started right after its quote (an agent's session viewed,
# then completed) is not priced twice; each keeps the moment it was priced (docs/adr/0041).
QUOTES: Slot[TTLCache[tuple[str, ...], pricing.Quote]] = Slot(
    lambda runtime: TTLCache(
        maxsize=10_000, ttl=max(runtime.settings.checkout.quote_fresh_seconds, 0.001)
    )
)


async def price(
    runtime: ServiceRuntime, user: str, lines: list[CheckoutLine], address: Address,
    coupon: str | None,
) -> pricing.Quote:  # fmt: skip
    """`pricing.quote` for these lines, address and coupon, or the same question's answer
    given moments ago. Its errors are `pricing`'s (nothing is kept of a refusal)."""
    keep = runtime.settings.checkout.quote_fresh_seconds > 0
    key = (user, coupon or "", address.model_dump_json(), *(li.model_dump_json() for li in lines))
    quotes = QUOTES.of(runtime)
    found = quotes.get(key) if keep else None
    if found is None:
        found = await pricing.quote(
            runtime.http, runtime.settings, user_id=user, lines=lines,
            shipping_address=address, coupon_code=coupon,
        )  # fmt: skip
        if keep:
            quotes[key] = found
    return found


async def _priced(
    runtime: ServiceRuntime, user: str, lines: list[CheckoutLine], body: QuoteCreate
) -> pricing.Quote:
    refusal = await _delivery_refusal(runtime, body.shipping_address)
    if refusal is not None:  # refused before anything is held or charged
        raise ApiError(422, "unsupported_address", refusal, param="shipping_address")
    try:
        return await price(runtime, user, lines, body.shipping_address, body.coupon_code)
    except pricing.CouponInvalid as exc:
        raise ApiError(422, "coupon_invalid", str(exc), param="coupon_code") from exc
    except pricing.AddressUnsupported as exc:
        raise ApiError(422, "unsupported_address", str(exc), param="shipping_address") from exc
    except pricing.PricingUnavailable as exc:
        raise ApiError(
            503,
            "service_unavailable",
            "Prices cannot be calculated right now; try again shortly.",
            error_type="api_error",
        ) from exc
    except pricing.PricingError as exc:  # a request the pricing services refused
        raise ApiError(422, "pricing_rejected", f"The cart cannot be priced: {exc}") from exc


def public(lines: list[CheckoutLine], quoted: pricing.Quote) -> QuotePublic:
    """A quote as the person sees it (good for 15 minutes)."""
    return QuotePublic.model_validate({
        "lines": [{**line.model_dump(), "discount_cents": q.discount_cents, "tax_cents": q.tax_cents} for line, q in zip(lines, quoted.lines, strict=True)],
        "totals": quoted.totals.model_dump(), "applied": quoted.applied, "jurisdiction": quoted.jurisdiction,
        "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat(),
    })  # fmt: skip


async def start(
    runtime: ServiceRuntime, user: str, cart_id: str | None, lines: list[CheckoutLine], address: Address,
    coupon: str | None, payment_token: str, quoted: pricing.Quote, *,
    source: Source,
    claim: Callable[[AsyncSession, uuid.UUID], Awaitable[None]] | None = None,
    checkout_id: uuid.UUID | None = None,
) -> uuid.UUID:  # fmt: skip
    """Publish InitiateCheckoutCommand (through the outbox) with the approved quote.

    `claim` runs in the same transaction before the command is written; raising there
    (e.g. the session was already paid by a concurrent request) publishes nothing.
    """
    if len(lines) > MAX_CHECKOUT_LINES:  # every way in (web, assistant, ACP) stops here
        raise ApiError(
            422, "cart_full",
            f"A checkout holds at most {MAX_CHECKOUT_LINES} different items; remove some first.",
            param="line_items" if source == "agent" else None,
        )  # fmt: skip
    await shed_if_behind(runtime)  # every way in: web, assistant, agents (read once a second)
    checkout_id = checkout_id or uuid.uuid4()
    async with runtime.db.transaction() as session:  # one round trip fewer than its own session
        found = await fetch(
            session, _NEW_CHECKOUT, str(checkout_id), user, quoted.totals.total_cents
        )
        person = as_dict(found[0]) if found else None
        command = InitiateCheckoutCommand(
            checkout_id=checkout_id, user_id=user, cart_id=cart_id, lines=lines, shipping_address=address,
            contact=Contact(email=person["email"] if person else None, phone=person["phone"] if person else None),
            payment_token=payment_token, coupon_code=coupon, quote=quoted.totals, source=source,
            priced_at=quoted.priced_at,
        )  # fmt: skip
        if claim is not None:
            await claim(session, checkout_id)
        await runtime.outbox.add(session, command, correlation_id=str(checkout_id))
    return checkout_id


# The checkout recorded, and the person's contact details, in one statement.
_NEW_CHECKOUT = (
    f"WITH c AS (INSERT INTO {checkouts.name} (checkout_id, user_id, total_cents)"
    f" VALUES ($1, $2, $3)) SELECT email, phone FROM {users.name} WHERE user_id = $2"
)


def price_changed(total_cents: int) -> ApiError:
    """The 409 for an approved total that is no longer the cart's."""
    return ApiError(
        409,
        "price_changed",
        f"The total is now {total_cents / 100:.2f}; please review the new quote.",
        param="expected_total_cents",
    )


async def own(runtime: ServiceRuntime, user: str, checkout_id: uuid.UUID) -> None:
    """404 unless the checkout is this person's."""
    async with runtime.db.reads() as session:
        owner = await session.scalar(
            select(checkouts.c.user_id).where(checkouts.c.checkout_id == str(checkout_id))
        )
    if owner != user:
        raise not_found("checkout")


async def status(
    runtime: ServiceRuntime,
    user: str,
    checkout_id: uuid.UUID,
    wait: float = 0,
    until: Literal["change", "finished"] = "change",
) -> CheckoutPublic:
    """Where one of the person's checkouts is (`submitted` until the orchestrator has it).

    The orchestrator's saga names its person, so a saga found needs no look-up of our own;
    only a saga not found yet is looked up here, to tell someone else's checkout (404)
    from one not picked up yet. With `wait` the orchestrator holds the answer until the
    saga changes (or appears), is finished, or `wait` seconds pass: it is woken by its
    own commits, so the client need not poll (docs/adr/0038); `until="finished"` holds
    it until the outcome instead of the next change."""
    extra: dict[str, Any] = {}
    if wait > 0:  # someone else's saga answers at once, not after a wait
        extra = {
            "params": {"wait": wait, "until": until, "user_id": user},
            "timeout": wait + runtime.settings.http_timeout_seconds,
        }
    try:
        found = await call(
            runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}", **extra
        )
    except ApiError as exc:
        if exc.status == 404:  # published, not yet picked up
            await own(runtime, user, checkout_id)
            return CheckoutPublic(checkout_id=checkout_id, state="submitted")
        raise
    if found.get("user_id") != user:
        raise not_found("checkout")
    return CheckoutPublic.model_validate(found)


async def timeline(runtime: ServiceRuntime, user: str, checkout_id: uuid.UUID) -> TimelinePublic:
    """The saga's timeline: its commands and events, without the payment token and with
    the contact redacted."""
    await own(runtime, user, checkout_id)
    return TimelinePublic.model_validate(
        safe_for_person(
            await call(runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}/events")
        )
    )


SECRET_FIELDS = frozenset({"payment_token", "token"})


def redact_email(email: str) -> str:
    name, at, domain = email.partition("@")
    return f"{name[:1]}***{at}{domain}" if at else "***"


def redact_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return "***" + "".join(digits[-2:])


def safe_for_person(value: Any) -> Any:
    """A saga timeline entry as its person may see it: no payment token anywhere, the
    contact and notification recipients redacted (`a***@example.com`, `***67`); the
    orchestrator keeps the whole."""
    if isinstance(value, list):
        return [safe_for_person(v) for v in value]
    if not isinstance(value, dict):
        return value
    safe: dict[str, Any] = {}
    for key, item in value.items():
        if key in SECRET_FIELDS:
            continue
        if key == "recipient" and isinstance(item, str):  # a notification's e-mail or phone
            safe[key] = redact_email(item) if "@" in item else redact_phone(item)
        elif key == "contact" and isinstance(item, dict):
            safe[key] = {
                "email": redact_email(item["email"]) if item.get("email") else None,
                "phone": redact_phone(item["phone"]) if item.get("phone") else None,
            }
        else:
            safe[key] = safe_for_person(item)
    return safe
