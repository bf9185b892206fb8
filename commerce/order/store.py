"""order's storage: moving an order on (with its history), restrictions, locked reads."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.checkout import CreateOrder
from commerce.contracts.orders import OrderStatusChanged
from commerce.order.domain import Status, transition
from commerce.order.tables import delivery_restrictions, order_history, order_lines, orders
from commerce.platform.db import locked_row


async def record_transition(
    session: AsyncSession,
    order_id: uuid.UUID,
    current: str,
    target: Status,
    reason: str | None,
    **values: object,
) -> OrderStatusChanged:
    """Move the order on, record it in its history; the event to publish with it."""
    transition(current, target)
    row = (
        (
            await session.execute(
                update(orders)
                .where(orders.c.order_id == order_id)
                .values(status=target, updated_at=func.now(), **values)
                .returning(orders.c.checkout_id, orders.c.total_cents, orders.c.refunded_cents, orders.c.currency)
            )
        )
        .mappings()
        .one()
    )  # fmt: skip
    await session.execute(
        insert(order_history).values(
            order_id=order_id, from_status=current, to_status=target, reason=reason
        )
    )
    return OrderStatusChanged(
        order_id=order_id, checkout_id=row["checkout_id"], from_status=current, status=target,
        reason=reason, total_cents=row["total_cents"], refunded_cents=row["refunded_cents"],
        currency=row["currency"],
    )  # fmt: skip


async def restriction(session: AsyncSession, country: str, region: str | None) -> str | None:
    reason: str | None = await session.scalar(
        select(delivery_restrictions.c.reason).where(
            delivery_restrictions.c.country == country,
            delivery_restrictions.c.region.in_(["*", (region or "").upper()]),
        )
    )
    return reason


async def order_for_checkout(
    session: AsyncSession, checkout_id: uuid.UUID
) -> dict[str, object] | None:
    return await locked_row(session, orders, orders.c.checkout_id == checkout_id)


async def order_id_for_checkout(session: AsyncSession, checkout_id: uuid.UUID) -> uuid.UUID | None:
    order_id: uuid.UUID | None = await session.scalar(
        select(orders.c.order_id).where(orders.c.checkout_id == checkout_id)
    )
    return order_id


async def add_order(session: AsyncSession, order_id: uuid.UUID, message: CreateOrder) -> None:
    """Record a new order, its lines and the first entry of its history."""
    t = message.totals
    address = message.shipping_address
    await session.execute(
        insert(orders).values(
            order_id=order_id, checkout_id=message.checkout_id, user_id=message.user_id,
            status=Status.CREATED, subtotal_cents=t.subtotal_cents, discount_cents=t.discount_cents,
            tax_cents=t.tax_cents, shipping_cents=t.shipping_cents, total_cents=t.total_cents,
            currency=t.currency, shipping_address=address.model_dump(mode="json"),
            contact=message.contact.model_dump(mode="json"), payment_id=message.payment_id,
            coupon_code=message.coupon_code,
        )
    )  # fmt: skip
    await session.execute(
        insert(order_lines),
        [
            {
                "order_id": order_id,
                "line_no": n,
                "sku": line.sku,
                "product_id": line.product_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
            }
            for n, line in enumerate(message.lines, start=1)
        ],
    )
    await session.execute(
        insert(order_history).values(order_id=order_id, to_status=Status.CREATED, reason="checkout")
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
