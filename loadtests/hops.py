"""Where a saga hop's time goes, read from the services' outbox and inbox tables.

For every message of the saga's critical path (`PATH`), joined across the service
databases by message id:

- `outbox`: the producer wrote the row (`outbox.created_at`, the statement's clock) →
  the relay had the broker's acknowledgement (`outbox.sent_at`): the rest of the
  producer's handler, its commit, waking the relay, and the publish;
- `delivery`: acknowledged → the consumer's transaction began (`inbox.processed_at`,
  the transaction's start): fetching and scheduling;
- `handler`: the consumer's transaction began → it wrote the next message of the path
  (that message's `outbox.created_at`).

Percentiles are over the messages of the run; `hop` sums the three per message.
"""

from __future__ import annotations

import statistics
from typing import Any

import asyncpg

from commerce.platform.db import asyncpg_dsn
from commerce.platform.settings import Settings
from commerce.services import SERVICES

# The saga's sequential messages and the service that consumes each one.
PATH: list[tuple[str, str]] = [
    ("InitiateCheckoutCommand", "checkout-orchestrator"),
    ("ReserveInventory", "inventory"),
    ("InventoryReserved", "checkout-orchestrator"),
    ("ProcessPayment", "payment-gateway"),
    ("PaymentProcessed", "checkout-orchestrator"),
    ("CreateOrder", "order"),
    ("OrderCreated", "checkout-orchestrator"),
]
_TYPES = [t for t, _ in PATH] + ["CheckoutCompleted"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(statistics.fmean(values), 2),
        "p50": _pct(values, 0.5),
        "p90": _pct(values, 0.9),
        "p99": _pct(values, 0.99),
    }


async def breakdown(settings: Settings) -> dict[str, Any]:
    """Per message type of the saga path: outbox, delivery and handler times in ms."""
    outbox: dict[Any, dict[str, Any]] = {}  # message_id -> row
    inbox: dict[tuple[str, Any], Any] = {}  # (consumer, message_id) -> processed_at
    names = {"gateway-bff", *(c for _, c in PATH), "inventory", "payment-gateway", "order"}
    for name in names:
        spec = SERVICES[name]
        url = settings.service_database_url(spec.env_prefix, spec.database)
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            for row in await conn.fetch(
                "SELECT message_id, type, headers->>'correlation_id' AS cid, created_at, sent_at"
                " FROM outbox WHERE type = ANY($1::text[])",
                _TYPES,
            ):
                outbox[row["message_id"]] = {**dict(row), "producer": name}
            for row in await conn.fetch(
                "SELECT message_id, processed_at FROM inbox WHERE consumer = $1", name
            ):
                inbox[(name, row["message_id"])] = row["processed_at"]
        finally:
            await conn.close()
    # the first copy of each type per checkout (re-sends and duplicates are left out)
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for row in sorted(outbox.values(), key=lambda r: r["created_at"]):
        if row["cid"]:
            first.setdefault((row["cid"], row["type"]), row)
    next_type = {t: _TYPES[i + 1] for i, t in enumerate(_TYPES[:-1])}
    result: dict[str, Any] = {}
    totals: dict[str, list[float]] = {"outbox": [], "delivery": [], "handler": [], "hop": []}
    for type_name, consumer in PATH:
        parts: dict[str, list[float]] = {"outbox": [], "delivery": [], "handler": [], "hop": []}
        for (cid, t), row in first.items():
            if t != type_name or row["sent_at"] is None:
                continue
            consumed = inbox.get((consumer, row["message_id"]))
            following = first.get((cid, next_type[type_name]))
            if consumed is None or following is None:
                continue
            ms = [
                (row["sent_at"] - row["created_at"]).total_seconds() * 1000,
                (consumed - row["sent_at"]).total_seconds() * 1000,
                (following["created_at"] - consumed).total_seconds() * 1000,
            ]
            for key, value in zip(("outbox", "delivery", "handler"), ms, strict=True):
                parts[key].append(value)
            parts["hop"].append(sum(ms))
        result[type_name] = {k: _summary(v) for k, v in parts.items()}
        for k, v in parts.items():
            totals[k].extend(v)
    result["all hops"] = {k: _summary(v) for k, v in totals.items()}
    return result


def table(hops: dict[str, Any]) -> str:
    """Markdown: p50 / p90 ms per part and message type."""
    lines = [
        "| message | n | outbox p50/p90 | delivery p50/p90 | handler p50/p90 | hop p50/p90 |",
        "|---|---|---|---|---|---|",
    ]
    for name, parts in hops.items():
        cells = [
            f"{parts[k].get('p50', '-')} / {parts[k].get('p90', '-')}"
            for k in ("outbox", "delivery", "handler", "hop")
        ]
        lines.append(f"| {name} | {parts['hop'].get('n', 0)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
