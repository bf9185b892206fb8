"""Order webhooks of the Agentic Commerce Protocol (`openapi.agentic_checkout_webhook.yaml`).

When an order bought through an agent client's checkout session changes (`OrderStatusChanged`
from the order service), the BFF writes the event for that agent's endpoint in the same
transaction as its inbox record: `order_create` when the order is confirmed, `order_update`
for shipped, delivered, canceled and refunds. A dispatcher posts due events one agent at a
time in order, signed `Merchant-Signature: t=<unix>,v1=<hex HMAC-SHA256(t + "." + body)>`
with the agent's webhook secret, and no database transaction open while it waits. A failure
(no answer, non-2xx) is retried with exponential backoff; after the last attempt the event
stays as a dead-letter record (`status = dead`, with the last error) and the next event goes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog
from sqlalchemy import func, text, update
from sqlalchemy.dialects.postgresql import insert

from bff.tables import acp_agents, acp_webhook_deliveries, checkout_sessions
from commerce.contracts.orders import OrderStatusChanged
from commerce.platform.consumer import MessageContext
from commerce.platform.db import fetch
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import WebhookSettings
from commerce.platform.tasks import raise_if_cancelled

log = structlog.get_logger(__name__)
D = acp_webhook_deliveries
PROTOCOL_STATUS = {
    "confirmed": "confirmed", "shipped": "shipped", "delivered": "completed",
    "cancelled": "canceled", "refunded": "canceled", "partially_refunded": "confirmed",
}  # fmt: skip


def backoff(attempts: int, settings: WebhookSettings) -> float:
    """Seconds before attempt `attempts + 1`: doubling from the first delay, capped."""
    return float(
        min(settings.backoff_seconds * 2 ** max(attempts - 1, 0), settings.max_backoff_seconds)
    )


def protocol_status(status: str, before: str) -> str:
    """The order's status in the protocol's words; a partial refund leaves it where it was
    (the refund shows as an adjustment)."""
    if status == "partially_refunded":
        return PROTOCOL_STATUS.get(before, "confirmed") if before != status else "confirmed"
    return PROTOCOL_STATUS.get(status, status)


def merchant_signature(secret: str, body: bytes, at: int | None = None) -> str:
    """The webhook document's `Merchant-Signature` header for `body`."""
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def event(message: OrderStatusChanged, session_id: str, base_url: str) -> dict[str, Any]:
    """The webhook's body: the protocol's order (EventDataOrder) after this change."""
    order: dict[str, Any] = {
        "type": "order", "id": str(message.order_id), "checkout_session_id": session_id,
        "permalink_url": f"{base_url}/v1/orders/{message.order_id}",
        "status": protocol_status(message.status, message.from_status),
        "totals": [{"type": "total", "display_text": "Total", "amount": message.total_cents}],
    }  # fmt: skip
    if message.refunded_cents:
        order["adjustments"] = [{
            "id": f"adj_{message.order_id.hex[:12]}_{message.refunded_cents}", "type": "refund",
            "status": "completed", "amount": message.refunded_cents, "currency": message.currency.lower(),
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }]  # fmt: skip
        order["totals"].append(
            {
                "type": "amount_refunded",
                "display_text": "Refunded",
                "amount": message.refunded_cents,
            }
        )
    kind = "order_create" if message.status == "confirmed" else "order_update"
    return {"type": kind, "data": order}


def for_agents(message: OrderStatusChanged) -> bool:
    """A change the protocol tells agents of; a checkout that failed (cancelled from
    `created`) never gave the agent an order."""
    if message.status == "cancelled" and message.from_status == "created":
        return False
    return message.status in PROTOCOL_STATUS


_SESSION_OF_CHECKOUT = (
    f"SELECT s.id, a.agent_id FROM {checkout_sessions.name} s JOIN {acp_agents.name} a"
    " ON a.agent_id = s.agent_id WHERE s.checkout_id = $1 AND a.webhook_url IS NOT NULL"
)


async def order_changed(message: OrderStatusChanged, ctx: MessageContext) -> None:
    """Owe the event to the agent whose checkout session bought the order (if any); only
    changes `for_agents` reach it (the consumer passes the others over)."""
    found = await fetch(ctx.session, _SESSION_OF_CHECKOUT, str(message.checkout_id))
    if not found:
        return
    session_id, agent_id = found[0]
    body = event(message, session_id, ctx.runtime.settings.service_url("gateway-bff"))
    await ctx.session.execute(
        insert(D)
        .values(agent_id=agent_id, event_id=f"evt_{ctx.envelope.message_id.hex}", event_type=body["type"], payload=body)
        .on_conflict_do_nothing()
    )  # fmt: skip


async def _claim(runtime: ServiceRuntime, lease: float) -> list[dict[str, Any]]:
    """The oldest pending event of each agent that is due, leased so no other
    dispatcher takes it meanwhile; joined with where it goes."""
    async with runtime.db.transaction() as session:
        rows = (
            await session.execute(
                text(
                    "WITH due AS (SELECT DISTINCT ON (agent_id) id, next_attempt_at FROM acp_webhook_deliveries"
                    " WHERE status = 'pending' ORDER BY agent_id, id)"
                    " UPDATE acp_webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => :lease)"
                    " FROM due, acp_agents a WHERE d.id = due.id AND due.next_attempt_at <= now()"
                    " AND a.agent_id = d.agent_id"
                    " RETURNING d.id, d.event_id, d.payload, d.attempts, d.agent_id, a.webhook_url, a.webhook_secret"
                ),
                {"lease": lease},
            )
        ).mappings()  # fmt: skip
        return [dict(r) for r in rows]


async def _deliver(http: httpx.AsyncClient, row: dict[str, Any], seconds: float) -> str | None:
    """POST one event; None when the endpoint took it, else why not."""
    if not row["webhook_url"]:
        return "the agent has no webhook endpoint"
    body = json.dumps(row["payload"], separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json", "Request-Id": row["event_id"],
        "Timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "Merchant-Signature": merchant_signature(row["webhook_secret"] or "", body),
    }  # fmt: skip
    try:
        answer = await http.post(row["webhook_url"], content=body, headers=headers, timeout=seconds)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= answer.status_code < 300:
        return None
    return f"HTTP {answer.status_code}: {answer.text[:200]}"


async def dispatch_once(
    runtime: ServiceRuntime, http: httpx.AsyncClient, settings: WebhookSettings
) -> int:
    """Deliver what is due now; the number of events attempted."""
    rows = await _claim(runtime, settings.timeout_seconds * 2 + 1)
    results = await asyncio.gather(*(_deliver(http, r, settings.timeout_seconds) for r in rows))
    for row, error in zip(rows, results, strict=True):
        attempts = row["attempts"] + 1
        if error is None:
            values: dict[str, Any] = {
                "status": "delivered",
                "attempts": attempts,
                "delivered_at": func.now(),
                "last_error": None,
            }
        elif attempts >= settings.max_attempts:
            values = {"status": "dead", "attempts": attempts, "last_error": error}
            log.warning(
                "acp webhook dead-lettered",
                event_id=row["event_id"],
                agent_id=row["agent_id"],
                error=error,
            )
        else:
            delay = timedelta(seconds=backoff(attempts, settings))
            values = {
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": func.now() + delay,
            }
        async with runtime.db.transaction() as session:
            await session.execute(update(D).where(D.c.id == row["id"]).values(**values))
    return len(rows)


async def dispatcher(runtime: ServiceRuntime) -> None:
    """Background task of the BFF: delivers owed webhook events until stopped."""
    async with httpx.AsyncClient() as http:
        while True:
            settings = runtime.settings.bff.webhooks
            try:
                if await dispatch_once(runtime, http, settings):
                    continue
            except Exception as exc:  # a database hiccup must not end deliveries
                raise_if_cancelled(exc)
                log.exception("acp webhook dispatch failed")
            await asyncio.sleep(settings.poll_seconds)
