"""discount-engine's message handler: count the coupon a completed checkout used."""

from __future__ import annotations

from commerce.contracts.checkout import CheckoutCompleted
from commerce.discount.store import DiscountStore
from commerce.platform.consumer import MessageContext


def used_a_coupon(message: CheckoutCompleted) -> bool:
    """Only a checkout with a coupon has anything to count (the others need no transaction)."""
    return bool(message.coupon_code)


async def record_redemption(message: CheckoutCompleted, ctx: MessageContext) -> None:
    """A completed checkout used its coupon: count it (once per checkout)."""
    if not message.coupon_code:
        return
    await DiscountStore(ctx.session).redeem(
        message.checkout_id, message.coupon_code, message.user_id
    )
