"""Building and following checkouts in integration tests (the saga's and refund's)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from commerce import pricing
from commerce.contracts.checkout import InitiateCheckoutCommand
from commerce.contracts.values import FINAL_STATES, Address, CheckoutLine, Contact
from commerce.platform.kafka import client_options
from commerce.platform.settings import Settings
from tests.conftest import ServiceStack, service_headers
from tests.integration.helpers import eventually

HOME = Address(
    name="Alice Martin",
    line1="1 Main St",
    city="Portland",
    region="OR",
    postal_code="97201",
    country="US",
)


async def stocked(stack: ServiceStack, on_hand: int, price: int = 1000) -> CheckoutLine:
    sku = f"S-{uuid.uuid4().hex[:10].upper()}"
    async with stack.client("inventory") as http:
        assert (
            await http.put(f"/stock/{sku}", json={"on_hand": on_hand, "product_id": "p-saga"})
        ).status_code == 200
    return CheckoutLine(
        sku=sku, product_id="p-saga", name=f"Widget {sku[-4:]}", quantity=1, unit_price_cents=price
    )


async def initiate(
    stack: ServiceStack, lines: list[CheckoutLine], *, token: str = "tok_visa",
    address: Address = HOME, user: str | None = None, coupon: str | None = None,
    quote_total: int | None = None, priced_at: datetime | None = None,
) -> InitiateCheckoutCommand:  # fmt: skip
    """A checkout the way a client builds it: quoted through the pricing services first."""
    settings = stack.settings
    async with httpx.AsyncClient(timeout=10, headers=service_headers(settings)) as http:
        quoted = await pricing.quote(
            http, settings, user_id=user, lines=lines, shipping_address=address, coupon_code=coupon
        )
    totals = quoted.totals
    if quote_total is not None:
        totals = totals.model_copy(
            update={
                "total_cents": quote_total,
                "subtotal_cents": quote_total,
                "shipping_cents": 0,
                "tax_cents": 0,
                "discount_cents": 0,
            }
        )
    return InitiateCheckoutCommand(
        checkout_id=uuid.uuid4(), user_id=user or f"u-{uuid.uuid4().hex[:8]}", lines=lines,
        shipping_address=address, contact=Contact(email="alice@example.com"), payment_token=token,
        coupon_code=coupon, quote=totals, priced_at=priced_at,
    )  # fmt: skip


async def get(stack: ServiceStack, service: str, path: str) -> Any:
    async with stack.client(service) as http:
        response = await http.get(path)
        return response.json() if response.status_code == 200 else None


async def finished(
    stack: ServiceStack, checkout_id: uuid.UUID, within: float = 60
) -> dict[str, Any]:
    saga: dict[str, Any] = await eventually(
        lambda: get(stack, "checkout-orchestrator", f"/checkouts/{checkout_id}"),
        lambda s: s is not None and s["state"] in FINAL_STATES,
        within=within,
        every=0.1,
    )
    return saga


SAGA = (
    "inventory", "payment-gateway", "order", "cart", "discount-engine", "tax-calculation",
    "checkout-orchestrator",
)  # fmt: skip


async def ready(stack: ServiceStack) -> None:
    await stack.ensure(*SAGA)


async def stock(stack: ServiceStack, sku: str) -> dict[str, Any]:
    body: dict[str, Any] = await get(stack, "inventory", f"/stock/{sku}")
    return body


@asynccontextmanager
async def service_down(stack: ServiceStack, name: str) -> AsyncIterator[None]:
    await stack.stop(name)
    try:
        yield
    finally:
        await stack.ensure(name)


async def skip_to_end(settings: Settings, group: str, topic: str) -> None:
    """Commit `group`'s offsets at the end of `topic`: what it has not read is lost to it."""
    consumer = AIOKafkaConsumer(
        **client_options(settings), group_id=group, enable_auto_commit=False
    )
    consumer.subscribe([topic])  # the group's service is down: this member gets everything
    await consumer.start()
    try:
        await eventually(
            lambda: consumer.getmany(timeout_ms=100), lambda _: bool(consumer.assignment())
        )
        ends = await consumer.end_offsets(list(consumer.assignment()))
        await consumer.commit(dict(ends.items()))
    finally:
        await consumer.stop()
