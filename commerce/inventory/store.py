"""inventory's storage: reservations, their lines and stock, in the caller's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.inventory.domain import Outcome, Reservation
from commerce.inventory.tables import reservation_lines, reservations, stock
from commerce.platform.db import execute, fetch, locked_row

_HELD_LINES = (
    f"SELECT sku, quantity FROM {reservation_lines.name} WHERE checkout_id = $1 ORDER BY sku"
)
_AVAILABLE = (
    f"SELECT sku, on_hand, reserved FROM {stock.name} WHERE sku = ANY($1::text[])"
    " ORDER BY sku FOR UPDATE"
)
_MOVE = (
    f"UPDATE {stock.name} SET on_hand = on_hand + $2, reserved = reserved + $3,"
    " updated_at = now() WHERE sku = $1"
)
_HOLD = (
    f"INSERT INTO {reservations.name} (checkout_id, status, reason, expires_at)"
    " VALUES ($1, $2, $3, $4)"
)
_HOLD_LINES = (
    f"INSERT INTO {reservation_lines.name} (checkout_id, sku, quantity)"
    " SELECT $1, s, q FROM unnest($2::text[], $3::int[]) AS l(s, q)"
)
# A reason given replaces the one kept; none keeps it.
_SETTLE = (
    f"UPDATE {reservations.name} SET status = $2, reason = coalesce($3, reason),"
    " updated_at = now() WHERE checkout_id = $1"
)


class InventoryStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _lines(self, checkout_id: uuid.UUID) -> dict[str, int]:
        rows = await fetch(self.session, _HELD_LINES, checkout_id)
        return {str(row[0]): int(row[1]) for row in rows}

    async def lock(self, checkout_id: uuid.UUID) -> Reservation | None:
        """A checkout's reservation and its lines, the row locked."""
        row = await locked_row(self.session, reservations.c.checkout_id, checkout_id)
        if row is None:
            return None
        return Reservation(
            checkout_id=checkout_id,
            status=str(row["status"]),
            reason=row["reason"],
            expires_at=row["expires_at"],
            lines=await self._lines(checkout_id),
        )

    async def available(self, skus: list[str]) -> dict[str, int]:
        """Units free per SKU, rows locked in sorted SKU order (so concurrent holds never
        deadlock)."""
        if not skus:
            return {}
        rows = await fetch(self.session, _AVAILABLE, skus)
        return {sku: on_hand - reserved for sku, on_hand, reserved in rows}

    async def lock_stock(self, sku: str) -> dict[str, Any] | None:
        row = (
            (await self.session.execute(select(stock).where(stock.c.sku == sku).with_for_update()))
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def add_stock(self, sku: str, product_id: str, on_hand: int) -> None:
        await self.session.execute(
            insert(stock).values(sku=sku, product_id=product_id, on_hand=on_hand, reserved=0)
        )

    async def count_stock(self, sku: str, on_hand: int, product_id: str | None) -> None:
        """Set the units on hand of a SKU (a stock count), and its product when given."""
        values: dict[str, object] = {"on_hand": on_hand, "updated_at": func.now()}
        if product_id:
            values["product_id"] = product_id
        await self.session.execute(stock.update().where(stock.c.sku == sku).values(**values))

    async def expired_holds(self, limit: int) -> list[uuid.UUID]:
        """Holds past their expiry, oldest first, locked (skipping those locked elsewhere)."""
        rows = await self.session.execute(
            select(reservations.c.checkout_id)
            .where(reservations.c.status == "held", reservations.c.expires_at < func.now())
            .order_by(reservations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [checkout_id for (checkout_id,) in rows]

    async def apply(self, outcome: Outcome) -> None:
        """Record an outcome: stock moves (in their order, one row at a time, so rows are
        locked in that order), then the reservation (and a new one's lines)."""
        for move in outcome.stock:
            await execute(self.session, _MOVE, move.sku, move.on_hand, move.reserved)
        reservation = outcome.reservation
        if reservation is None:
            return
        if outcome.new:
            await execute(
                self.session, _HOLD, reservation.checkout_id, reservation.status,
                reservation.reason, reservation.expires_at,
            )  # fmt: skip
            if reservation.lines:
                await execute(
                    self.session,
                    _HOLD_LINES,
                    reservation.checkout_id,
                    list(reservation.lines),
                    list(reservation.lines.values()),
                )
            return
        await execute(
            self.session, _SETTLE, reservation.checkout_id, reservation.status, reservation.reason
        )
