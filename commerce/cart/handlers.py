"""cart's handler: ClearCart at the end of a checkout."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from commerce.cart.store import remove_skus
from commerce.cart.tables import carts, cleared_checkouts
from commerce.contracts.checkout import CartCleared, ClearCart
from commerce.platform.consumer import MessageContext


async def clear(message: ClearCart, ctx: MessageContext) -> None:
    """Remove the purchased SKUs once per checkout; lines added later stay."""
    session = ctx.session
    first_time = await session.scalar(
        insert(cleared_checkouts)
        .values(checkout_id=message.checkout_id)
        .on_conflict_do_nothing()
        .returning(cleared_checkouts.c.checkout_id)
    )
    # The cart row first, as every route takes it: a person's edit and this clearing then
    # queue on it instead of each holding a row the other wants (a deadlock).
    row = (
        await session.execute(
            select(carts.c.cart_id).where(carts.c.user_id == message.user_id).with_for_update()
        )
    ).first()
    if first_time is not None and row is not None:
        await remove_skus(session, row.cart_id, message.skus or None)
    await ctx.publish(
        CartCleared(checkout_id=message.checkout_id, cart_id=str(row.cart_id) if row else None)
    )
