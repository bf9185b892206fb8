"""order's handlers: create, confirm on CheckoutCompleted, cancel on CheckoutFailed, refunds."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.checkout import (
    CheckoutCompleted,
    CheckoutFailed,
    CreateOrder,
    OrderCreated,
    OrderCreationFailed,
)
from commerce.contracts.orders import OrderStatusChanged
from commerce.contracts.refunds import RefundSucceeded
from commerce.order.domain import (
    IllegalTransition,
    Status,
    after_refund,
    totals_problem,
    transition,
)
from commerce.order.tables import delivery_restrictions, order_history, order_lines, orders
from commerce.platform.consumer import MessageContext
from commerce.platform.db import locked_row

log = structlog.get_logger(__name__)


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


async def _restriction(session: AsyncSession, country: str, region: str | None) -> str | None:
    reason: str | None = await session.scalar(
        select(delivery_restrictions.c.reason).where(
            delivery_restrictions.c.country == country,
            delivery_restrictions.c.region.in_(["*", (region or "").upper()]),
        )
    )
    return reason


async def create(message: CreateOrder, ctx: MessageContext) -> None:
    session = ctx.session
    existing = await session.scalar(
        select(orders.c.order_id).where(orders.c.checkout_id == message.checkout_id)
    )
    if existing is not None:  # a re-sent command: same order
        await ctx.publish(OrderCreated(checkout_id=message.checkout_id, order_id=existing))
        return
    t = message.totals
    problem = totals_problem(
        ((line.quantity, line.unit_price_cents) for line in message.lines),
        subtotal=t.subtotal_cents, discount=t.discount_cents, tax=t.tax_cents,
        shipping=t.shipping_cents, total=t.total_cents,
    )  # fmt: skip
    address = message.shipping_address
    problem = problem or await _restriction(session, address.country, address.region)
    if problem:
        await ctx.publish(OrderCreationFailed(checkout_id=message.checkout_id, reason=problem))
        return
    order_id = uuid.uuid4()
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
    await ctx.publish(OrderCreated(checkout_id=message.checkout_id, order_id=order_id))


async def _order_for_checkout(
    session: AsyncSession, checkout_id: uuid.UUID
) -> dict[str, object] | None:
    return await locked_row(session, orders, orders.c.checkout_id == checkout_id)


async def confirm(message: CheckoutCompleted, ctx: MessageContext) -> None:
    order = await _order_for_checkout(ctx.session, message.checkout_id)
    if order is None or order["status"] != Status.CREATED:
        return
    await ctx.publish(
        await record_transition(
            ctx.session, message.order_id, Status.CREATED, Status.CONFIRMED, "payment captured"
        )
    )


async def cancel_failed(message: CheckoutFailed, ctx: MessageContext) -> None:
    order = await _order_for_checkout(ctx.session, message.checkout_id)
    if order is None or order["status"] != Status.CREATED:
        return
    order_id = order["order_id"]
    assert isinstance(order_id, uuid.UUID)
    await ctx.publish(
        await record_transition(
            ctx.session, order_id, Status.CREATED, Status.CANCELLED, message.reason
        )
    )


async def refunded(message: RefundSucceeded, ctx: MessageContext) -> None:
    session = ctx.session
    row = await locked_row(session, orders, orders.c.order_id == message.order_id)
    if row is None:
        log.warning("order.refund_for_unknown_order", order_id=str(message.order_id))
        return
    new_total = int(row["refunded_cents"]) + message.amount_cents
    try:
        target = after_refund(row["status"], int(row["total_cents"]), new_total)
    except IllegalTransition as exc:
        log.warning("order.refund_not_recorded", order_id=str(message.order_id), error=str(exc))
        return
    changed = await record_transition(
        session, message.order_id, row["status"], target,
        f"refund {message.refund_id}: {message.amount_cents} cents", refunded_cents=new_total,
    )  # fmt: skip
    await ctx.publish(changed)


async def seed(db: object) -> None:
    from commerce.platform.db import Database

    assert isinstance(db, Database)
    async with db.transaction() as session:
        await session.execute(
            insert(delivery_restrictions)
            .values(
                [
                    {
                        "country": "US",
                        "region": "AK",
                        "reason": "We do not ship to Alaska or Hawaii yet.",
                    },
                    {
                        "country": "US",
                        "region": "HI",
                        "reason": "We do not ship to Alaska or Hawaii yet.",
                    },
                ]
            )
            .on_conflict_do_nothing()
        )
