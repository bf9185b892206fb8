"""discount-engine's message handler: count the coupon a completed checkout used."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from commerce.contracts.checkout import CheckoutCompleted
from commerce.discount.tables import redemptions, rules
from commerce.platform.consumer import MessageContext


async def record_redemption(message: CheckoutCompleted, ctx: MessageContext) -> None:
    """A completed checkout used its coupon: count it (once per checkout)."""
    if not message.coupon_code:
        return
    rule_id = await ctx.session.scalar(
        select(rules.c.id).where(func.upper(rules.c.coupon_code) == message.coupon_code.upper())
    )
    if rule_id is None:
        return
    await ctx.session.execute(
        insert(redemptions)
        .values(checkout_id=message.checkout_id, rule_id=rule_id, user_id=message.user_id)
        .on_conflict_do_nothing()
    )
