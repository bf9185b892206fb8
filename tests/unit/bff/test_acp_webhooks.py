"""ACP webhook bodies, signatures and backoff, free of I/O."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from bff.acp_agents import signature
from bff.acp_webhooks import backoff, event, merchant_signature
from commerce.contracts.acp import CHECKOUT, validator
from commerce.contracts.orders import OrderStatusChanged
from commerce.platform.settings import WebhookSettings

ORDER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def changed(status: str, before: str, refunded: int = 0) -> OrderStatusChanged:
    return OrderStatusChanged(
        order_id=ORDER, checkout_id=uuid.uuid4(), from_status=before, status=status,
        total_cents=2526, refunded_cents=refunded, currency="USD",
    )  # fmt: skip


def test_events_are_the_protocols_orders() -> None:
    created = event(changed("confirmed", "created"), "cs_1", "http://shop")
    assert created["type"] == "order_create" and created["data"]["status"] == "confirmed"
    assert created["data"]["permalink_url"] == f"http://shop/v1/orders/{ORDER}"
    shipped = event(changed("shipped", "confirmed"), "cs_1", "http://shop")
    partial = event(changed("partially_refunded", "shipped", 300), "cs_1", "http://shop")
    full = event(changed("refunded", "partially_refunded", 2526), "cs_1", "http://shop")
    assert [e["type"] for e in (shipped, partial, full)] == ["order_update"] * 3
    assert (shipped["data"]["status"], partial["data"]["status"], full["data"]["status"]) == (
        "shipped", "shipped", "canceled"
    )  # fmt: skip
    assert partial["data"]["adjustments"][0] | {"occurred_at": ""} == {
        "id": partial["data"]["adjustments"][0]["id"], "type": "refund", "status": "completed",
        "amount": 300, "currency": "usd", "occurred_at": "",
    }  # fmt: skip
    for body in (created, shipped, partial, full):
        validator("Order", CHECKOUT).validate(body["data"])


def test_signatures_are_hmac_sha256_as_the_documents_say() -> None:
    header = merchant_signature("secret", b'{"a":1}', at=1709123456)
    expected = hmac.new(b"secret", b'1709123456.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1709123456,v1={expected}"
    one = signature("s", "2026-11-28T10:00:00Z", "post", "/checkout_sessions", b"{}")
    assert one == signature("s", "2026-11-28T10:00:00Z", "POST", "/checkout_sessions", b"{}")
    assert one != signature("s", "2026-11-28T10:00:00Z", "POST", "/checkout_sessions/cs_x", b"{}")
    assert one != signature("s", "2026-11-28T10:00:01Z", "POST", "/checkout_sessions", b"{}")


def test_backoff_doubles_up_to_its_cap() -> None:
    settings = WebhookSettings(backoff_seconds=1, max_backoff_seconds=300)
    assert [backoff(n, settings) for n in range(1, 12)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
        300,
    ]
