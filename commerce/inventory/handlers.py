"""inventory's message handlers: reserve, compensate (release), commit; and the expiry sweeper."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.checkout import (
    CommitInventory,
    CompensateInventory,
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    ReserveInventory,
)
from commerce.contracts.values import StockShortage
from commerce.inventory.domain import Status, merge_lines, shortage_reason, shortages
from commerce.inventory.tables import reservation_lines, reservations, stock
from commerce.platform.consumer import MessageContext
from commerce.platform.db import Database, locked_row

log = structlog.get_logger(__name__)


async def _reservation(session: AsyncSession, checkout_id: uuid.UUID) -> dict[str, object] | None:
    return await locked_row(session, reservations, reservations.c.checkout_id == checkout_id)


async def _available(session: AsyncSession, skus: list[str]) -> dict[str, int]:
    """Units free per SKU, rows locked in sorted SKU order (so concurrent holds never deadlock)."""
    rows = await session.execute(
        select(stock.c.sku, stock.c.on_hand, stock.c.reserved)
        .where(stock.c.sku.in_(skus))
        .order_by(stock.c.sku)
        .with_for_update()
    )
    return {sku: on_hand - reserved for sku, on_hand, reserved in rows}


async def _lines(session: AsyncSession, checkout_id: uuid.UUID) -> dict[str, int]:
    rows = await session.execute(
        select(reservation_lines.c.sku, reservation_lines.c.quantity)
        .where(reservation_lines.c.checkout_id == checkout_id)
        .order_by(reservation_lines.c.sku)
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def reserve(message: ReserveInventory, ctx: MessageContext) -> None:
    session = ctx.session
    existing = await _reservation(session, message.checkout_id)
    if existing is not None:  # a re-sent command: answer as before, hold nothing new
        await _republish_outcome(ctx, existing)
        return
    wanted = merge_lines((line.sku, line.quantity) for line in message.lines)
    # The last unit goes to exactly one of the concurrent reservations.
    short = shortages(wanted, await _available(session, list(wanted)))
    if short:
        reason = shortage_reason(short)
        await session.execute(
            insert(reservations).values(
                checkout_id=message.checkout_id, status=Status.FAILED, reason=reason
            )
        )
        await ctx.publish(
            InventoryReservationFailed(
                checkout_id=message.checkout_id,
                reason=reason,
                shortages=[
                    StockShortage(sku=s.sku, requested=s.requested, available=s.available)
                    for s in short
                ],
            )
        )
        return
    expires_at = datetime.now(UTC) + timedelta(seconds=message.hold_seconds)
    for sku, quantity in wanted.items():
        await session.execute(
            update(stock)
            .where(stock.c.sku == sku)
            .values(reserved=stock.c.reserved + quantity, updated_at=func.now())
        )
    await session.execute(
        insert(reservations).values(
            checkout_id=message.checkout_id, status=Status.HELD, expires_at=expires_at
        )
    )
    await session.execute(
        insert(reservation_lines),
        [{"checkout_id": message.checkout_id, "sku": s, "quantity": q} for s, q in wanted.items()],
    )
    await ctx.publish(InventoryReserved(checkout_id=message.checkout_id, expires_at=expires_at))


async def _republish_outcome(ctx: MessageContext, existing: dict[str, object]) -> None:
    checkout_id = existing["checkout_id"]
    assert isinstance(checkout_id, uuid.UUID)
    status = existing["status"]
    if status in (Status.HELD, Status.COMMITTED):
        expires_at = existing["expires_at"]
        assert isinstance(expires_at, datetime)
        await ctx.publish(InventoryReserved(checkout_id=checkout_id, expires_at=expires_at))
        return
    reasons: dict[str, str] = {
        Status.CANCELLED: "The checkout was cancelled before stock was reserved.",
        Status.RELEASED: "The reservation was already released.",
        Status.EXPIRED: "The reservation expired.",
    }
    reason = reasons.get(str(status), str(existing["reason"] or "Stock could not be reserved."))
    await ctx.publish(InventoryReservationFailed(checkout_id=checkout_id, reason=reason))


async def _give_back(session: AsyncSession, checkout_id: uuid.UUID) -> int:
    held = await _lines(session, checkout_id)
    for sku, quantity in held.items():
        await session.execute(
            update(stock)
            .where(stock.c.sku == sku)
            .values(reserved=stock.c.reserved - quantity, updated_at=func.now())
        )
    return sum(held.values())


async def compensate(message: CompensateInventory, ctx: MessageContext) -> None:
    session = ctx.session
    existing = await _reservation(session, message.checkout_id)
    released = 0
    if existing is None:
        # The compensation overtook the reservation: leave a tombstone so a late
        # ReserveInventory for this checkout holds nothing.
        await session.execute(
            insert(reservations).values(
                checkout_id=message.checkout_id, status=Status.CANCELLED, reason=message.reason
            )
        )
    elif existing["status"] == Status.HELD:
        released = await _give_back(session, message.checkout_id)
        await session.execute(
            update(reservations)
            .where(reservations.c.checkout_id == message.checkout_id)
            .values(status=Status.RELEASED, reason=message.reason, updated_at=func.now())
        )
    elif existing["status"] == Status.COMMITTED:
        log.warning("inventory.compensate_after_commit", checkout_id=str(message.checkout_id))
    await ctx.publish(InventoryReleased(checkout_id=message.checkout_id, released_units=released))


async def commit(message: CommitInventory, ctx: MessageContext) -> None:
    """Turn the hold into a sale. A hold that expired is re-taken if the stock is still there."""
    session = ctx.session
    existing = await _reservation(session, message.checkout_id)
    if existing is None:
        log.error("inventory.commit_without_reservation", checkout_id=str(message.checkout_id))
        return
    status = existing["status"]
    if status == Status.COMMITTED:
        await ctx.publish(InventoryCommitted(checkout_id=message.checkout_id))
        return
    lines = await _lines(session, message.checkout_id)
    if status == Status.HELD:
        for sku, quantity in lines.items():
            await session.execute(
                update(stock)
                .where(stock.c.sku == sku)
                .values(
                    on_hand=stock.c.on_hand - quantity,
                    reserved=stock.c.reserved - quantity,
                    updated_at=func.now(),
                )
            )
    elif status == Status.EXPIRED:
        if shortages(lines, await _available(session, list(lines))):
            # Never sell what is not there; the invariant checker reports the order.
            log.error("inventory.commit_after_expiry_short", checkout_id=str(message.checkout_id))
            return
        for sku, quantity in lines.items():
            await session.execute(
                update(stock)
                .where(stock.c.sku == sku)
                .values(on_hand=stock.c.on_hand - quantity, updated_at=func.now())
            )
    else:
        log.error(
            "inventory.commit_refused", checkout_id=str(message.checkout_id), status=str(status)
        )
        return
    await session.execute(
        update(reservations)
        .where(reservations.c.checkout_id == message.checkout_id)
        .values(status=Status.COMMITTED, updated_at=func.now())
    )
    await ctx.publish(InventoryCommitted(checkout_id=message.checkout_id))


async def release_expired(session: AsyncSession, limit: int = 100) -> int:
    """Release holds past their expiry. Returns how many reservations were released."""
    rows = await session.execute(
        select(reservations.c.checkout_id)
        .where(reservations.c.status == Status.HELD, reservations.c.expires_at < func.now())
        .order_by(reservations.c.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired = [checkout_id for (checkout_id,) in rows]
    for checkout_id in expired:
        await _give_back(session, checkout_id)
        await session.execute(
            update(reservations)
            .where(reservations.c.checkout_id == checkout_id)
            .values(status=Status.EXPIRED, reason="hold expired", updated_at=func.now())
        )
        log.info("inventory.hold_expired", checkout_id=str(checkout_id))
    return len(expired)


class SweepSettings(BaseSettings):
    """INVENTORY_SWEEP_SECONDS (default 1): how often holds past their expiry are released."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    sweep_seconds: float = Field(1.0, gt=0)


async def sweeper(runtime: object, every: float | None = None) -> None:
    from commerce.platform.service import ServiceRuntime

    assert isinstance(runtime, ServiceRuntime)
    every = SweepSettings().sweep_seconds if every is None else every
    while True:
        async with runtime.db.transaction() as session:
            await release_expired(session)
        await asyncio.sleep(every)


async def seed(db: Database) -> None:
    """Stock for every SKU of the demo catalog; existing stock levels are left alone."""
    from commerce.catalog.data import catalog_skus

    rows = [
        {"sku": s.sku, "product_id": s.product_id, "on_hand": s.initial_stock, "reserved": 0}
        for s in catalog_skus()
    ]
    async with db.transaction() as session:
        # executemany: one statement per batch of rows (a single VALUES list of 20,000
        # SKUs would pass asyncpg's limit of 32,767 parameters)
        await session.execute(insert(stock).on_conflict_do_nothing(), rows)
