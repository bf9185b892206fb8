"""order's handlers: create, confirm on CheckoutCompleted, cancel on CheckoutFailed, refunds
(the refund that cancels an order cancels it and asks inventory to take its stock back);
each loads the order, decides with `domain`, records through `store`, publishes."""

from __future__ import annotations

import uuid

import structlog

from commerce.contracts.checkout import (
    CheckoutCompleted,
    CheckoutFailed,
    CreateOrder,
    OrderCreated,
    OrderCreationFailed,
)
from commerce.contracts.orders import RestockInventory
from commerce.contracts.refunds import RefundSucceeded
from commerce.order.domain import (
    IllegalTransition,
    Status,
    after_refund,
    returns_stock,
    totals_problem,
)
from commerce.order.store import (
    add_order,
    has_shipped,
    order_for_checkout,
    order_id_for_checkout,
    record_transition,
    restriction,
)
from commerce.order.tables import orders
from commerce.platform.consumer import MessageContext
from commerce.platform.db import locked_row

log = structlog.get_logger(__name__)


async def create(message: CreateOrder, ctx: MessageContext) -> None:
    session = ctx.session
    existing = await order_id_for_checkout(session, message.checkout_id)
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
    problem = problem or await restriction(session, address.country, address.region)
    if problem:
        await ctx.publish(OrderCreationFailed(checkout_id=message.checkout_id, reason=problem))
        return
    order_id = uuid.uuid4()
    await add_order(session, order_id, message)
    await ctx.publish(OrderCreated(checkout_id=message.checkout_id, order_id=order_id))


async def confirm(message: CheckoutCompleted, ctx: MessageContext) -> None:
    order = await order_for_checkout(ctx.session, message.checkout_id)
    if order is None or order["status"] != Status.CREATED:
        return
    await ctx.publish(
        await record_transition(
            ctx.session, message.order_id, Status.CREATED, Status.CONFIRMED, "payment captured"
        )
    )


async def cancel_failed(message: CheckoutFailed, ctx: MessageContext) -> None:
    order = await order_for_checkout(ctx.session, message.checkout_id)
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
    row = await locked_row(session, orders.c.order_id, message.order_id)
    if row is None:
        log.warning("order.refund_for_unknown_order", order_id=str(message.order_id))
        return
    new_total = int(row["refunded_cents"]) + message.amount_cents
    current = str(row["status"])
    shipped = message.cancels_order and await has_shipped(session, message.order_id)
    try:
        target = after_refund(
            current, int(row["total_cents"]), new_total,
            cancels_order=message.cancels_order, shipped=shipped,
        )  # fmt: skip
    except IllegalTransition as exc:
        log.warning("order.refund_not_recorded", order_id=str(message.order_id), error=str(exc))
        return
    if message.cancels_order and target != Status.CANCELLED:
        log.warning(
            "order.cancellation_refunded_only", order_id=str(message.order_id), status=current
        )
    what = "cancelled, refund" if target == Status.CANCELLED else "refund"
    changed = await record_transition(
        session, message.order_id, current, target,
        f"{what} {message.refund_id}: {message.amount_cents} cents", refunded_cents=new_total,
    )  # fmt: skip
    await ctx.publish(changed)
    if returns_stock(current, target):
        await ctx.publish(
            RestockInventory(
                checkout_id=changed.checkout_id, order_id=message.order_id, reason="order cancelled"
            )
        )
