"""refund's storage: the projection of refundable orders and the refunds, in the caller's
transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.platform.db import execute, locked_row
from commerce.refund.domain import RefundableOrder, Settlement
from commerce.refund.tables import orders, refunds


def refundable(order: dict[str, Any]) -> RefundableOrder:
    return RefundableOrder(
        total_cents=order["total_cents"],
        refunded_cents=order["refunded_cents"],
        pending_cents=order["pending_cents"],
        lines=order["lines"],
    )


_RECORD_ORDER = (
    f"INSERT INTO {orders.name} (order_id, checkout_id, user_id, email, currency, total_cents,"
    " shipping_cents, lines) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"
)


class RefundStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_order(self, values: dict[str, Any]) -> None:
        """Add a completed order to the projection (once: a redelivery changes nothing)."""
        await execute(
            self.session, _RECORD_ORDER, values["order_id"], values["checkout_id"],
            values["user_id"], values["email"], values["currency"], values["total_cents"],
            values["shipping_cents"], json.dumps(values["lines"]),
        )  # fmt: skip

    async def lock_order(self, order_id: uuid.UUID) -> dict[str, Any] | None:
        return await locked_row(self.session, orders.c.order_id, order_id)

    async def by_idempotency_key(self, user_id: str, key: str) -> dict[str, Any] | None:
        query = select(refunds).where(
            refunds.c.user_id == user_id, refunds.c.idempotency_key == key
        )
        return (await self.session.execute(query)).mappings().first()  # type: ignore[return-value]

    async def add(self, values: dict[str, Any]) -> dict[str, Any]:
        """Record a pending refund and hold its amount on the order; the stored row."""
        row = (
            (await self.session.execute(insert(refunds).values(**values).returning(refunds)))
            .mappings()
            .one()
        )
        await self.session.execute(
            update(orders)
            .where(orders.c.order_id == values["order_id"])
            .values(pending_cents=orders.c.pending_cents + values["amount_cents"])
        )
        return dict(row)

    async def lock_refund(self, refund_id: uuid.UUID) -> dict[str, Any] | None:
        return await locked_row(self.session, refunds.c.refund_id, refund_id)

    async def apply(self, refund: dict[str, Any], settlement: Settlement) -> None:
        await self.session.execute(
            update(orders)
            .where(orders.c.order_id == refund["order_id"])
            .values(
                pending_cents=orders.c.pending_cents + settlement.pending_delta_cents,
                refunded_cents=orders.c.refunded_cents + settlement.refunded_delta_cents,
            )
        )
        await self.session.execute(
            update(refunds)
            .where(refunds.c.refund_id == refund["refund_id"])
            .values(
                status=settlement.status,
                failure_reason=settlement.failure_reason,
                updated_at=func.now(),
            )
        )

    async def get(self, refund_id: uuid.UUID) -> dict[str, Any] | None:
        query = select(refunds).where(refunds.c.refund_id == refund_id)
        return (await self.session.execute(query)).mappings().first()  # type: ignore[return-value]

    async def latest(
        self, order_id: uuid.UUID | None, user_id: str | None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = select(refunds).order_by(refunds.c.created_at.desc()).limit(limit)
        if order_id is not None:
            query = query.where(refunds.c.order_id == order_id)
        if user_id is not None:
            query = query.where(refunds.c.user_id == user_id)
        return [dict(r) for r in (await self.session.execute(query)).mappings()]
