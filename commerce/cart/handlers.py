"""cart's handler: ClearCart at the end of a checkout."""

from __future__ import annotations

from commerce.cart.store import lock_cart_id, mark_cleared, remove_skus
from commerce.contracts.checkout import CartCleared, ClearCart
from commerce.platform.consumer import MessageContext


async def clear(message: ClearCart, ctx: MessageContext) -> None:
    """Remove the purchased SKUs once per checkout; lines added later stay."""
    session = ctx.session
    first_time = await mark_cleared(session, message.checkout_id)
    # The cart row first, as every route takes it: a person's edit and this clearing then
    # queue on it instead of each holding a row the other wants (a deadlock).
    cart_id = await lock_cart_id(session, message.user_id)
    if first_time and cart_id is not None:
        await remove_skus(session, cart_id, message.skus or None)
    await ctx.publish(
        CartCleared(checkout_id=message.checkout_id, cart_id=str(cart_id) if cart_id else None)
    )
