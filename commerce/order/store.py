"""order's storage: moving an order on (with its history), restrictions, locked reads."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.checkout import CreateOrder
from commerce.contracts.orders import OrderStatusChanged
from commerce.order.domain import Status, transition
from commerce.order.tables import delivery_restrictions, order_history, order_lines, orders
from commerce.platform.db import as_dict, execute, fetch, locked_row


async def record_transition(
    session: AsyncSession,
    order_id: uuid.UUID,
    current: str,
    target: Status,
    reason: str | None,
    *,
    refunded_cents: int | None = None,
) -> OrderStatusChanged:
    """Move the order on (and its refunded total, when given), record it in its history;
    the event to publish with it."""
    transition(current, target)
    rows = await fetch(
        session, _TRANSITION, order_id, target.value, current, reason, refunded_cents
    )
    if not rows:
        raise LookupError(f"no order {order_id}")
    row = as_dict(rows[0])
    return OrderStatusChanged(
        order_id=order_id, checkout_id=row["checkout_id"], from_status=current, status=target,
        reason=reason, total_cents=row["total_cents"], refunded_cents=row["refunded_cents"],
        currency=row["currency"],
    )  # fmt: skip


_TRANSITION = (
    f"WITH o AS (UPDATE {orders.name} SET status = $2, updated_at = now(),"
    " refunded_cents = coalesce($5::int, refunded_cents) WHERE order_id = $1"
    " RETURNING checkout_id, total_cents, refunded_cents, currency),"
    f" h AS (INSERT INTO {order_history.name} (order_id, from_status, to_status, reason)"
    " SELECT $1, $3, $2, $4 FROM o)"
    " SELECT checkout_id, total_cents, refunded_cents, currency FROM o"
)


_RESTRICTION = (
    f"SELECT reason FROM {delivery_restrictions.name} WHERE country = $1 AND region IN ('*', $2)"
    " LIMIT 1"
)
_ORDER_OF_CHECKOUT = f"SELECT order_id FROM {orders.name} WHERE checkout_id = $1"


async def restriction(session: AsyncSession, country: str, region: str | None) -> str | None:
    rows = await fetch(session, _RESTRICTION, country, (region or "").upper())
    return str(rows[0][0]) if rows else None


async def order_for_checkout(
    session: AsyncSession, checkout_id: uuid.UUID
) -> dict[str, object] | None:
    return await locked_row(session, orders.c.checkout_id, checkout_id)


async def order_id_for_checkout(session: AsyncSession, checkout_id: uuid.UUID) -> uuid.UUID | None:
    rows = await fetch(session, _ORDER_OF_CHECKOUT, checkout_id)
    return rows[0][0] if rows else None


async def add_order(session: AsyncSession, order_id: uuid.UUID, message: CreateOrder) -> None:
    """Record a new order, its lines and the first entry of its history."""
    t = message.totals
    lines = message.lines
    await execute(
        session, _ADD_ORDER,
        order_id, message.checkout_id, message.user_id, Status.CREATED.value,
        t.subtotal_cents, t.discount_cents, t.tax_cents, t.shipping_cents, t.total_cents,
        t.currency, message.shipping_address.model_dump_json(), message.contact.model_dump_json(),
        message.payment_id, message.coupon_code,
        [x.sku for x in lines], [x.product_id for x in lines], [x.name for x in lines],
        [x.quantity for x in lines], [x.unit_price_cents for x in lines],
    )  # fmt: skip


# The order, its lines (numbered from 1 in the message's order) and the first entry of its
# history, in one statement.
_ADD_ORDER = (
    f"WITH o AS (INSERT INTO {orders.name} (order_id, checkout_id, user_id, status,"
    " subtotal_cents, discount_cents, tax_cents, shipping_cents, total_cents, currency,"
    " shipping_address, contact, payment_id, coupon_code)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)),"
    f" l AS (INSERT INTO {order_lines.name} (order_id, line_no, sku, product_id, name, quantity,"
    " unit_price_cents) SELECT $1, n, s, p, m, q, u FROM unnest($15::text[], $16::text[],"
    " $17::text[], $18::int[], $19::int[]) WITH ORDINALITY AS x(s, p, m, q, u, n))"
    f" INSERT INTO {order_history.name} (order_id, to_status, reason) VALUES ($1, $4, 'checkout')"
)


async def lock_status(session: AsyncSession, order_id: uuid.UUID) -> str | None:
    """An order's status, its row locked; None when there is no such order."""
    status: str | None = await session.scalar(
        select(orders.c.status).where(orders.c.order_id == order_id).with_for_update()
    )
    return status


async def has_shipped(session: AsyncSession, order_id: uuid.UUID) -> bool:
    """Whether the order ever shipped (its history says so)."""
    found = await session.scalar(
        select(order_history.c.id)
        .where(order_history.c.order_id == order_id, order_history.c.to_status == Status.SHIPPED)
        .limit(1)
    )
    return found is not None
