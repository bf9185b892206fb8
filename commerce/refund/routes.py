"""refund's HTTP API: issue a refund (all of an order, some lines, or an amount), read them."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from commerce.contracts.refunds import RefundPayment
from commerce.contracts.values import MAX_CENTS
from commerce.platform.service import RuntimeDep
from commerce.refund.domain import (
    PENDING,
    RefundRefused,
    RefundStatus,
    amount_to_refund,
    cancellation_refusal,
)
from commerce.refund.store import RefundStore, refundable

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
    cancels_order: bool = Field(
        False, description="Cancel the order: a refund of all that is left, and its stock returned"
    )

    @model_validator(mode="after")
    def _one_way(self) -> RefundRequest:
        if self.amount_cents is not None and self.lines is not None:
            raise ValueError("give amount_cents or lines, not both (neither = a full refund)")
        if self.cancels_order and (self.amount_cents is not None or self.lines is not None):
            raise ValueError(
                "a cancellation refunds the whole order: give no amount_cents or lines"
            )
        return self


class RefundPublic(BaseModel):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    user_id: str
    status: RefundStatus
    amount_cents: int
    currency: str
    reason: str
    failure_reason: str | None
    cancels_order: bool = False
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
    """Refund all of an order, some of its lines, or an amount; or cancel it
    (`cancels_order`: all that is left, and the order service returns its stock once the
    money is back). Answers `pending` at once; the refund ends `succeeded` or `failed`
    when payment-gateway has answered."""
    digest = hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()
    async with runtime.db.transaction() as session:
        store = RefundStore(session)
        if idempotency_key:
            earlier = await store.by_idempotency_key(body.user_id, idempotency_key)
            if earlier is not None:
                if earlier["request_hash"] != digest:
                    raise _refused("this Idempotency-Key was used with a different request")
                return RefundPublic(**earlier)
        order = await store.lock_order(body.order_id)
        if order is None or order["user_id"] != body.user_id:
            raise HTTPException(
                404,
                detail={
                    "code": "not_found",
                    "message": "no completed order with this id for this user",
                },
            )
        try:
            if body.cancels_order:
                cancellation_refusal(refundable(order))
            amount = amount_to_refund(
                refundable(order),
                lines={li.sku: li.quantity for li in body.lines} if body.lines else None,
                amount_cents=body.amount_cents,
            )
        except RefundRefused as exc:
            raise _refused(f"Refund refused: {exc}.", 409) from exc
        refund_id = uuid.uuid4()
        row = await store.add(
            {
                "refund_id": refund_id, "order_id": body.order_id, "user_id": body.user_id, "amount_cents": amount,
                "currency": order["currency"], "status": PENDING, "reason": body.reason,
                "lines": [li.model_dump() for li in body.lines] if body.lines else None,
                "idempotency_key": idempotency_key, "request_hash": digest,
                "cancels_order": body.cancels_order,
            }
        )  # fmt: skip
        await runtime.outbox.add(
            session,
            RefundPayment(
                refund_id=refund_id, order_id=body.order_id, checkout_id=order["checkout_id"],
                amount_cents=amount, currency=order["currency"], reason=body.reason,
                cancels_order=body.cancels_order,
            ),
            correlation_id=str(order["checkout_id"]),
        )  # fmt: skip
    return RefundPublic(**row)


@router.get("/refunds/{refund_id}", operation_id="refunds-get", response_model=RefundPublic)
async def get_refund(runtime: RuntimeDep, refund_id: uuid.UUID) -> RefundPublic:
    async with runtime.db.sessions() as session:
        row = await RefundStore(session).get(refund_id)
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
    async with runtime.db.sessions() as session:
        rows = await RefundStore(session).latest(order_id, user_id)
    return RefundsPublic(items=[RefundPublic(**r) for r in rows])
