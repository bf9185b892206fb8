"""inventory's message handlers — reserve, compensate (release), commit, restock (a
cancelled order's stock back) — and the expiry
sweeper: each loads the reservation, decides with `domain`, applies and publishes."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.checkout import CommitInventory, CompensateInventory, ReserveInventory
from commerce.contracts.orders import RestockInventory
from commerce.inventory import domain
from commerce.inventory.store import InventoryStore
from commerce.platform.consumer import MessageContext
from commerce.platform.service import ServiceRuntime

log = structlog.get_logger(__name__)


def _log(outcome: domain.Outcome, checkout_id: uuid.UUID, **fields: object) -> None:
    if outcome.log is not None:
        level, event = outcome.log
        getattr(log, level)(event, checkout_id=str(checkout_id), **fields)


async def _apply(store: InventoryStore, ctx: MessageContext, outcome: domain.Outcome) -> None:
    await store.apply(outcome)
    for message in outcome.publish:
        await ctx.publish(message)


async def reserve(message: ReserveInventory, ctx: MessageContext) -> None:
    store = InventoryStore(ctx.session)
    existing = await store.lock(message.checkout_id)
    if existing is not None:
        outcome = domain.answer_again(existing)
    else:
        wanted = domain.merge_lines((line.sku, line.quantity) for line in message.lines)
        outcome = domain.reserve(
            message.checkout_id, wanted, await store.available(list(wanted)),
            now=datetime.now(UTC), hold=timedelta(seconds=message.hold_seconds),
        )  # fmt: skip
    await _apply(store, ctx, outcome)


async def compensate(message: CompensateInventory, ctx: MessageContext) -> None:
    store = InventoryStore(ctx.session)
    existing = await store.lock(message.checkout_id)
    outcome = domain.compensate(existing, message.checkout_id, message.reason)
    _log(outcome, message.checkout_id)
    await _apply(store, ctx, outcome)


async def commit(message: CommitInventory, ctx: MessageContext) -> None:
    """Turn the hold into a sale. A hold that expired is re-taken if the stock is still there."""
    store = InventoryStore(ctx.session)
    existing = await store.lock(message.checkout_id)
    available = await store.available(domain.stock_to_check(existing))
    outcome = domain.commit(existing, message.checkout_id, available)
    _log(outcome, message.checkout_id, status=existing.status if existing else None)
    await _apply(store, ctx, outcome)


async def restock(message: RestockInventory, ctx: MessageContext) -> None:
    """A sold order was cancelled: its units go back on the shelf, once."""
    store = InventoryStore(ctx.session)
    existing = await store.lock(message.checkout_id)
    outcome = domain.restock(existing)
    units = existing.units if existing is not None and outcome.stock else 0
    _log(outcome, message.checkout_id, order_id=str(message.order_id), units=units)
    await _apply(store, ctx, outcome)


async def release_expired(session: AsyncSession, limit: int = 100) -> int:
    """Release holds past their expiry. Returns how many reservations were released."""
    store = InventoryStore(session)
    expired = await store.expired_holds(limit)
    for checkout_id in expired:
        existing = await store.lock(checkout_id)  # locked already, by `expired_holds`
        if existing is None:
            continue
        outcome = domain.expire(existing)
        await store.apply(outcome)
        _log(outcome, checkout_id)
    return len(expired)


async def sweeper(runtime: ServiceRuntime, every: float | None = None) -> None:
    """Background task: `release_expired` every INVENTORY_SWEEP_SECONDS."""
    every = runtime.settings.inventory.sweep_seconds if every is None else every
    while True:
        async with runtime.db.transaction() as session:
            await release_expired(session)
        await asyncio.sleep(every)
