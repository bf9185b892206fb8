"""refund's message handlers: load → decide → apply → publish.

`CheckoutCompleted` adds the order to the projection of refundable orders (what each line
cost); `RefundSucceeded` / `RefundFailed` settle a pending refund and tell the customer.
"""

from __future__ import annotations

import uuid

from commerce.contracts.checkout import CheckoutCompleted
from commerce.contracts.notifications import NotificationRequested
from commerce.contracts.refunds import RefundFailed, RefundSucceeded
from commerce.platform.consumer import MessageContext
from commerce.refund import domain
from commerce.refund.store import RefundStore


async def on_completed(message: CheckoutCompleted, ctx: MessageContext) -> None:
    totals = message.totals
    await RefundStore(ctx.session).record_order(
        {
            "order_id": message.order_id, "checkout_id": message.checkout_id, "user_id": message.user_id,
            "email": message.contact.email, "currency": totals.currency, "total_cents": totals.total_cents,
            "shipping_cents": totals.shipping_cents, "lines": domain.paid_per_line(message.lines, totals),
        }
    )  # fmt: skip


async def _settle(
    ctx: MessageContext, refund_id: uuid.UUID, succeeded: bool, failure: str | None
) -> None:
    store = RefundStore(ctx.session)
    refund = await store.lock_refund(refund_id)
    if refund is None:
        return  # unknown
    settlement = domain.settle(str(refund["status"]), refund["amount_cents"], succeeded, failure)
    if settlement is None:
        return  # already settled (a redelivery)
    await store.apply(refund, settlement)
    order = await store.lock_order(refund["order_id"])
    if order is not None and order["email"]:
        await ctx.publish(
            NotificationRequested(
                channel="email", user_id=refund["user_id"], recipient=order["email"],
                template=settlement.template,
                data={"order_id": str(refund["order_id"]), "amount_cents": refund["amount_cents"],
                      "currency": refund["currency"], "reason": failure},
            )
        )  # fmt: skip


async def on_succeeded(message: RefundSucceeded, ctx: MessageContext) -> None:
    await _settle(ctx, message.refund_id, True, None)


async def on_failed(message: RefundFailed, ctx: MessageContext) -> None:
    await _settle(ctx, message.refund_id, False, message.reason)
