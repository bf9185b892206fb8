"""The refund service.

Consumes `CheckoutCompleted` (its projection of refundable orders) and
`RefundSucceeded` / `RefundFailed` on `refunds.events`; publishes `RefundPayment` on
`refunds.command` and `NotificationRequested` to the customer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from commerce.contracts.checkout import CheckoutCompleted
from commerce.contracts.notifications import NotificationRequested
from commerce.contracts.refunds import RefundFailed, RefundPayment, RefundSucceeded
from commerce.contracts.values import MAX_CENTS
from commerce.platform.consumer import Handler, MessageContext
from commerce.platform.db import locked_row
from commerce.platform.service import RuntimeDep, Service
from commerce.refund.domain import RefundRefused, amount_for_lines, check_amount, paid_per_line
from commerce.refund.tables import metadata, orders, refunds

router = APIRouter(tags=["refunds"])


class RefundLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1000)


class RefundRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"order_id": "3f0c6a9e-6f3b-4a53-9d55-3f5f1f1f9b1e", "user_id": "user_123",
                                         "reason": "arrived damaged", "lines": [{"sku": "CBL-USBC-2M-BLA", "quantity": 1}]}]},
    )  # fmt: skip
    order_id: uuid.UUID
    user_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    amount_cents: int | None = Field(None, gt=0, le=MAX_CENTS)
    lines: list[RefundLine] | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_way(self) -> RefundRequest:
        if self.amount_cents is not None and self.lines is not None:
            raise ValueError("give amount_cents or lines, not both (neither = a full refund)")
        return self


# One casing for every status of the API: lower case. Refunds stored before this rule say
# PENDING/SUCCEEDED/FAILED; they are read case-insensitively and answered in lower case.
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"
RefundStatus = Literal["pending", "succeeded", "failed"]


class RefundPublic(BaseModel):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    user_id: str
    status: RefundStatus
    amount_cents: int
    currency: str
    reason: str
    failure_reason: str | None
    created_at: datetime

    @field_validator("status", mode="before")
    @classmethod
    def _lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class RefundsPublic(BaseModel):
    items: list[RefundPublic]


def _refused(message: str, status: int = 422) -> HTTPException:
    return HTTPException(status, detail={"code": "refund_refused", "message": message})


@router.post(
    "/issue-refund", operation_id="refunds-issue", response_model=RefundPublic, status_code=202
)
async def issue_refund(
    runtime: RuntimeDep,
    body: RefundRequest,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> RefundPublic:
    """Refund all of an order, some of its lines, or an amount. Answers `pending` at once;
    the refund ends `succeeded` or `failed` when payment-gateway has answered."""
    digest = hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    async with runtime.db.transaction() as session:
        if idempotency_key:
            earlier = (
                (
                    await session.execute(
                        select(refunds).where(
                            refunds.c.user_id == body.user_id,
                            refunds.c.idempotency_key == idempotency_key,
                        )
                    )
                )
                .mappings()
                .first()
            )
            if earlier is not None:
                if earlier["request_hash"] != digest:
                    raise _refused("this Idempotency-Key was used with a different request")
                return RefundPublic(**earlier)
        order = await locked_row(session, orders, orders.c.order_id == body.order_id)
        if order is None or order["user_id"] != body.user_id:
            raise HTTPException(
                404,
                detail={
                    "code": "not_found",
                    "message": "no completed order with this id for this user",
                },
            )
        try:
            if body.lines:
                amount = amount_for_lines(
                    order["lines"], {li.sku: li.quantity for li in body.lines}
                )
            elif body.amount_cents:
                amount = body.amount_cents
            else:
                amount = order["total_cents"] - order["refunded_cents"] - order["pending_cents"]
            check_amount(
                amount,
                total=order["total_cents"],
                refunded=order["refunded_cents"],
                pending=order["pending_cents"],
            )
        except RefundRefused as exc:
            raise _refused(f"Refund refused: {exc}.", 409) from exc
        refund_id = uuid.uuid4()
        row = (
            await session.execute(
                insert(refunds)
                .values(
                    refund_id=refund_id, order_id=body.order_id, user_id=body.user_id, amount_cents=amount,
                    currency=order["currency"], status=PENDING, reason=body.reason,
                    lines=[li.model_dump() for li in body.lines] if body.lines else None,
                    idempotency_key=idempotency_key, request_hash=digest,
                )
                .returning(refunds)
            )
        ).mappings().one()  # fmt: skip
        await session.execute(
            update(orders)
            .where(orders.c.order_id == body.order_id)
            .values(pending_cents=orders.c.pending_cents + amount)
        )
        await runtime.outbox.add(
            session,
            RefundPayment(
                refund_id=refund_id, order_id=body.order_id, checkout_id=order["checkout_id"],
                amount_cents=amount, currency=order["currency"], reason=body.reason,
            ),
            correlation_id=str(order["checkout_id"]),
        )  # fmt: skip
    return RefundPublic(**row)


@router.get("/refunds/{refund_id}", operation_id="refunds-get", response_model=RefundPublic)
async def get_refund(runtime: RuntimeDep, refund_id: uuid.UUID) -> RefundPublic:
    async with runtime.db.sessions() as session:
        row = (
            (await session.execute(select(refunds).where(refunds.c.refund_id == refund_id)))
            .mappings()
            .first()
        )
    if row is None:
        raise HTTPException(404, detail={"code": "not_found", "message": "refund not found"})
    return RefundPublic(**row)


@router.get("/refunds", operation_id="refunds-list", response_model=RefundsPublic)
async def list_refunds(
    runtime: RuntimeDep,
    order_id: uuid.UUID | None = None,
    user_id: Annotated[str | None, Query(max_length=64)] = None,
) -> RefundsPublic:
    if order_id is None and user_id is None:
        raise HTTPException(
            422, detail={"code": "missing_filter", "message": "give order_id or user_id"}
        )
    query = select(refunds).order_by(refunds.c.created_at.desc()).limit(100)
    if order_id is not None:
        query = query.where(refunds.c.order_id == order_id)
    if user_id is not None:
        query = query.where(refunds.c.user_id == user_id)
    async with runtime.db.sessions() as session:
        return RefundsPublic(
            items=[RefundPublic(**r) for r in (await session.execute(query)).mappings()]
        )


async def on_completed(message: CheckoutCompleted, ctx: MessageContext) -> None:
    await ctx.session.execute(
        insert(orders)
        .values(
            order_id=message.order_id, checkout_id=message.checkout_id, user_id=message.user_id,
            email=message.contact.email, currency=message.totals.currency, total_cents=message.totals.total_cents,
            shipping_cents=message.totals.shipping_cents, lines=paid_per_line(message.lines, message.totals),
        )
        .on_conflict_do_nothing()
    )  # fmt: skip


async def _settle(
    ctx: MessageContext, refund_id: uuid.UUID, status: str, failure: str | None
) -> dict[str, Any] | None:
    refund = await locked_row(ctx.session, refunds, refunds.c.refund_id == refund_id)
    if refund is None or str(refund["status"]).lower() != PENDING:
        return None  # unknown, or already settled (a redelivery)
    amount = refund["amount_cents"]
    refunded = amount if status == SUCCEEDED else 0
    await ctx.session.execute(
        update(orders)
        .where(orders.c.order_id == refund["order_id"])
        .values(
            pending_cents=orders.c.pending_cents - amount,
            refunded_cents=orders.c.refunded_cents + refunded,
        )
    )
    await ctx.session.execute(
        update(refunds)
        .where(refunds.c.refund_id == refund_id)
        .values(status=status, failure_reason=failure, updated_at=func.now())
    )
    order = await locked_row(ctx.session, orders, orders.c.order_id == refund["order_id"])
    if order is not None and order["email"]:
        await ctx.publish(
            NotificationRequested(
                channel="email", user_id=refund["user_id"], recipient=order["email"],
                template="refund_processed" if status == SUCCEEDED else "refund_failed",
                data={"order_id": str(refund["order_id"]), "amount_cents": amount, "currency": refund["currency"], "reason": failure},
            )
        )  # fmt: skip
    return refund


async def on_succeeded(message: RefundSucceeded, ctx: MessageContext) -> None:
    await _settle(ctx, message.refund_id, SUCCEEDED, None)


async def on_failed(message: RefundFailed, ctx: MessageContext) -> None:
    await _settle(ctx, message.refund_id, FAILED, message.reason)


service = Service(
    name="refund",
    title="agentshop refund",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[
        Handler(CheckoutCompleted, on_completed),
        Handler(RefundSucceeded, on_succeeded),
        Handler(RefundFailed, on_failed),
    ],
)
