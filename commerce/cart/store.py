"""Cart reads and writes shared by the routes and the ClearCart handler."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.cart.domain import MAX_UNITS_PER_LINE
from commerce.cart.tables import cart_lines, carts, cleared_checkouts
from commerce.platform.db import as_dict, columns, execute, fetch

_CART = f"SELECT {columns(carts)} FROM {carts.name} WHERE user_id = $1"
_CART_LOCKED = f"{_CART} FOR UPDATE"
_NEW_CART = (
    f"INSERT INTO {carts.name} (cart_id, user_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING"
)
_BUMP = f"UPDATE {carts.name} SET version = version + 1, updated_at = now() WHERE cart_id = $1"
_LINES = (
    f"SELECT {columns(cart_lines)} FROM {cart_lines.name} WHERE cart_id = $1 ORDER BY added_at, sku"
)
_LINE_FIELDS = [c.name for c in cart_lines.c if c.name != "cart_id"]
_CART_WITH_LINES = (
    "SELECT c.cart_id, c.user_id, c.version, c.updated_at, "
    + ", ".join(f"l.{name}" for name in _LINE_FIELDS)
    + f" FROM {carts.name} c LEFT JOIN {cart_lines.name} l ON l.cart_id = c.cart_id"
    " WHERE c.user_id = $1 ORDER BY l.added_at, l.sku"
)
_REMOVE_ALL = f"DELETE FROM {cart_lines.name} WHERE cart_id = $1"
_REMOVE = f"{_REMOVE_ALL} AND sku = ANY($2::text[])"
_CLEARED = f"INSERT INTO {cleared_checkouts.name} (checkout_id) VALUES ($1) ON CONFLICT DO NOTHING"
_CART_ID_LOCKED = f"SELECT cart_id FROM {carts.name} WHERE user_id = $1 FOR UPDATE"
_LINE_COUNT = (
    f"SELECT count(*), count(*) FILTER (WHERE sku = $2) FROM {cart_lines.name} WHERE cart_id = $1"
)
# More of a SKU already there takes its price and name as now; nothing is written when that
# would take the line over the most units a line may have.
_ADD_LINE = (
    f"INSERT INTO {cart_lines.name} AS l (cart_id, sku, product_id, name, quantity,"
    " unit_price_cents, currency, category, tax_class)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (cart_id, sku) DO UPDATE"
    " SET quantity = l.quantity + excluded.quantity,"
    " unit_price_cents = excluded.unit_price_cents, name = excluded.name"
    f" WHERE l.quantity + excluded.quantity <= {MAX_UNITS_PER_LINE}"
)


async def cart_for(session: AsyncSession, user_id: str, *, lock: bool = False) -> dict[str, Any]:
    """The user's cart, created on first use (concurrency-safe: a concurrent first use
    inserts nothing, and both read the one row)."""
    query = _CART_LOCKED if lock else _CART
    rows = await fetch(session, query, user_id)
    if not rows:
        await execute(session, _NEW_CART, uuid.uuid4(), user_id)
        rows = await fetch(session, query, user_id)
    return as_dict(rows[0])


async def cart_with_lines(
    session: AsyncSession, user_id: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The user's cart (created on first use) and its lines in the order they were added,
    read by one statement: one snapshot, one round trip."""
    rows = [as_dict(r) for r in await fetch(session, _CART_WITH_LINES, user_id)]
    if not rows:
        return await cart_for(session, user_id), []
    cart = {name: rows[0][name] for name in ("cart_id", "user_id", "version", "updated_at")}
    lines = [
        {"cart_id": cart["cart_id"], **{name: r[name] for name in _LINE_FIELDS}}
        for r in rows
        if r["sku"] is not None
    ]
    return cart, lines


async def bump(session: AsyncSession, cart_id: uuid.UUID) -> None:
    await execute(session, _BUMP, cart_id)


async def remove_skus(session: AsyncSession, cart_id: uuid.UUID, skus: list[str] | None) -> int:
    removed = await (
        execute(session, _REMOVE, cart_id, skus) if skus else execute(session, _REMOVE_ALL, cart_id)
    )
    if removed:
        await bump(session, cart_id)
    return removed


async def mark_cleared(session: AsyncSession, checkout_id: uuid.UUID) -> bool:
    """Note that a checkout's ClearCart was handled; False when it was already."""
    return await execute(session, _CLEARED, checkout_id) > 0


async def lock_cart_id(session: AsyncSession, user_id: str) -> uuid.UUID | None:
    """The id of the user's cart, its row locked; None when the user has no cart."""
    rows = await fetch(session, _CART_ID_LOCKED, user_id)
    return rows[0][0] if rows else None


async def lines(session: AsyncSession, cart_id: uuid.UUID) -> list[dict[str, Any]]:
    """A cart's lines in the order they were added."""
    return [as_dict(r) for r in await fetch(session, _LINES, cart_id)]


async def line_count(session: AsyncSession, cart_id: uuid.UUID, sku: str) -> tuple[int, bool]:
    """How many lines the cart has, and whether one of them is `sku`."""
    count, of_sku = (await fetch(session, _LINE_COUNT, cart_id, sku))[0]
    return int(count), bool(of_sku)


async def add_line(session: AsyncSession, cart_id: uuid.UUID, line: dict[str, Any]) -> bool:
    """Add a line, or more of a SKU already there (its price and name as now); False when
    that would take the line over `MAX_UNITS_PER_LINE` (checked in the same statement)."""
    added = await execute(
        session, _ADD_LINE, cart_id, line["sku"], line["product_id"], line["name"],
        line["quantity"], line["unit_price_cents"], line["currency"], line["category"],
        line["tax_class"],
    )  # fmt: skip
    if not added:
        return False
    await bump(session, cart_id)
    return True


async def set_quantity(session: AsyncSession, cart_id: uuid.UUID, sku: str, quantity: int) -> bool:
    """False when the SKU is not in the cart."""
    result = await session.execute(
        update(cart_lines)
        .where(cart_lines.c.cart_id == cart_id, cart_lines.c.sku == sku)
        .values(quantity=quantity)
    )
    if not getattr(result, "rowcount", 0):
        return False
    await bump(session, cart_id)
    return True


async def empty(session: AsyncSession, cart_id: uuid.UUID) -> None:
    await execute(session, _REMOVE_ALL, cart_id)
    await bump(session, cart_id)
