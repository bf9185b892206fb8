"""The person's orders and refunds; someone else's order is a 404, as if it did not exist."""

from __future__ import annotations

import uuid

from bff.errors import ApiError, not_found
from bff.upstream import call
from commerce.order.domain import Status, cancellable
from commerce.platform.service import ServiceRuntime
from shopapi.schemas import OrderPublic, OrdersPublic, RefundCreate, RefundPublic, RefundsPublic


async def get(runtime: ServiceRuntime, user: str, order_id: uuid.UUID) -> OrderPublic:
    """One of the person's orders, with its lines and history."""
    order = OrderPublic.model_validate(await call(runtime, "order", "GET", f"/orders/{order_id}"))
    if order.user_id != user:
        raise not_found("order")
    return order


async def list_orders(
    runtime: ServiceRuntime, user: str, limit: int = 20, offset: int = 0
) -> OrdersPublic:
    """The person's orders, newest first, as summaries (no lines, no history)."""
    return OrdersPublic.model_validate(
        await call(
            runtime,
            "order",
            "GET",
            "/orders",
            params={"user_id": user, "limit": limit, "offset": offset},
        )
    )


async def refunds(runtime: ServiceRuntime, user: str, order_id: uuid.UUID) -> RefundsPublic:
    """The refunds of one of the person's orders, newest first."""
    await get(runtime, user, order_id)
    return RefundsPublic.model_validate(
        await call(runtime, "refund", "GET", "/refunds", params={"order_id": str(order_id)})
    )


async def refund(
    runtime: ServiceRuntime,
    user: str,
    order_id: uuid.UUID,
    body: RefundCreate,
    idempotency_key: str | None = None,
) -> RefundPublic:
    """Ask for a refund of lines, an amount, or (neither) the whole order (202: it settles
    later; the refund service never refunds more than was captured). With `cancels_order`,
    an order that has shipped (or is cancelled already) answers 409 `not_cancellable`."""
    order = await get(runtime, user, order_id)
    if body.cancels_order:
        shipped = any(h.to_status == Status.SHIPPED for h in order.history)
        if not cancellable(order.status, shipped=shipped):
            why = (
                "is cancelled already"
                if order.status == Status.CANCELLED
                else f"is {order.status.replace('_', ' ')}; it can no longer be cancelled. "
                "Ask for a refund instead"
            )
            raise ApiError(409, "not_cancellable", f"Order {str(order_id)[:8]} {why}.")
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    payload = {"order_id": str(order_id), "user_id": user, **body.model_dump(exclude_none=True)}
    return RefundPublic.model_validate(
        await call(runtime, "refund", "POST", "/issue-refund", json=payload, headers=headers)
    )
