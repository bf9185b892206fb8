"""payment-gateway's HTTP API: payments with their ledger."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select

from commerce.payment.tables import ledger, payments
from commerce.platform.service import RuntimeDep

router = APIRouter(tags=["payments"])


class LedgerEntry(BaseModel):
    kind: str
    amount_cents: int
    reference: str | None
    created_at: datetime


class PaymentPublic(BaseModel):
    payment_id: uuid.UUID
    checkout_id: uuid.UUID
    user_id: str
    status: str
    currency: str
    authorized_cents: int
    captured_cents: int
    refunded_cents: int
    failure_code: str | None
    failure_reason: str | None
    created_at: datetime
    ledger: list[LedgerEntry] = []


class PaymentsPublic(BaseModel):
    items: list[PaymentPublic]


_FIELDS = [c for c in payments.c if c.name != "token" and c.name != "updated_at"]


@router.get("/payments/{checkout_id}", operation_id="payments-get", response_model=PaymentPublic)
async def get_payment(runtime: RuntimeDep, checkout_id: uuid.UUID) -> PaymentPublic:
    """The payment of a checkout with every ledger entry (authorize, capture, refund)."""
    async with runtime.db.sessions() as session:
        row = (
            (await session.execute(select(*_FIELDS).where(payments.c.checkout_id == checkout_id)))
            .mappings()
            .first()
        )
        if row is None:
            raise HTTPException(404, detail="no payment for this checkout")
        entries = await session.execute(
            select(ledger.c.kind, ledger.c.amount_cents, ledger.c.reference, ledger.c.created_at)
            .where(ledger.c.payment_id == row["payment_id"])
            .order_by(ledger.c.id)
        )
        return PaymentPublic(**row, ledger=[LedgerEntry(**e) for e in entries.mappings()])


@router.get("/payments", operation_id="payments-list", response_model=PaymentsPublic)
async def list_payments(
    runtime: RuntimeDep,
    user_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PaymentsPublic:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(*_FIELDS)
            .where(payments.c.user_id == user_id)
            .order_by(payments.c.created_at.desc())
            .limit(limit)
        )
        return PaymentsPublic(items=[PaymentPublic(**r) for r in rows.mappings()])
