"""Cart reads and writes shared by the routes and the ClearCart handler."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.cart.tables import cart_lines, carts, cleared_checkouts


async def cart_for(session: AsyncSession, user_id: str, *, lock: bool = False) -> dict[str, Any]:
    """The user's cart, created on first use (concurrency-safe: a concurrent first use
    inserts nothing, and both read the one row)."""
    query = select(carts).where(carts.c.user_id == user_id)
    if lock:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    if row is None:
        await session.execute(
            insert(carts)
            .values(cart_id=uuid.uuid4(), user_id=user_id)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        row = (await session.execute(query)).mappings().one()
    return dict(row)


async def bump(session: AsyncSession, cart_id: uuid.UUID) -> None:
    await session.execute(
        update(carts)
        .where(carts.c.cart_id == cart_id)
        .values(version=carts.c.version + 1, updated_at=func.now())
    )


async def remove_skus(session: AsyncSession, cart_id: uuid.UUID, skus: list[str] | None) -> int:
    query = delete(cart_lines).where(cart_lines.c.cart_id == cart_id)
    if skus:
        query = query.where(cart_lines.c.sku.in_(skus))
    result = await session.execute(query)
    removed = int(getattr(result, "rowcount", 0) or 0)
    if removed:
        await bump(session, cart_id)
    return removed


async def mark_cleared(session: AsyncSession, checkout_id: uuid.UUID) -> bool:
    """Note that a checkout's ClearCart was handled; False when it was already."""
    first = await session.scalar(
        insert(cleared_checkouts)
        .values(checkout_id=checkout_id)
        .on_conflict_do_nothing()
        .returning(cleared_checkouts.c.checkout_id)
    )
    return first is not None


async def lock_cart_id(session: AsyncSession, user_id: str) -> uuid.UUID | None:
    """The id of the user's cart, its row locked; None when the user has no cart."""
    row = (
        await session.execute(
            select(carts.c.cart_id).where(carts.c.user_id == user_id).with_for_update()
        )
    ).first()
    return row.cart_id if row is not None else None
