"""order's HTTP API: a user's orders, one order with lines and history, operator actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from commerce.contracts.orders import RestockInventory
from commerce.order.domain import (
    IllegalTransition,
    Status,
    cancellable,
    delivery_estimate,
    returns_stock,
)
from commerce.order.store import has_shipped, lock_status, record_transition, restriction
from commerce.order.tables import order_history, order_lines, orders
from commerce.platform.service import RuntimeDep

router = APIRouter(tags=["orders"])


class OrderLinePublic(BaseModel):
    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int


class HistoryEntry(BaseModel):
    from_status: str | None
    to_status: str
    reason: str | None
    at: datetime


class OrderSummary(BaseModel):
    """An order as the list shows it: no lines and no history (`GET /orders/{id}` has them)."""

    order_id: uuid.UUID
    checkout_id: uuid.UUID
    user_id: str
    status: str
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int
    refunded_cents: int
    currency: str
    shipping_address: dict[str, Any]
    contact: dict[str, Any]
    payment_id: uuid.UUID
    coupon_code: str | None
    created_at: datetime
    updated_at: datetime


class DeliveryEstimate(BaseModel):
    """Standard shipping's window for an order on its way (an estimate, not tracking)."""

    earliest: date
    latest: date


class OrderPublic(OrderSummary):
    """One order with its lines, its status history and, while it is on its way, when
    standard shipping brings it."""

    lines: list[OrderLinePublic] = []
    history: list[HistoryEntry] = []
    delivery_estimate: DeliveryEstimate | None = None


class OrdersPublic(BaseModel):
    items: list[OrderSummary]
    limit: int
    offset: int


class StatusChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "changed my mind"}]}
    )
    reason: str = Field("requested", min_length=1, max_length=500)


async def _load(runtime: RuntimeDep, where: Any, *, details: bool = True) -> OrderPublic:
    async with runtime.db.sessions() as session:
        row = (await session.execute(select(orders).where(where))).mappings().first()
        if row is None:
            raise HTTPException(404, detail="order not found")
        order = OrderPublic(**row)
        if details:
            lines = await session.execute(
                select(order_lines)
                .where(order_lines.c.order_id == row["order_id"])
                .order_by(order_lines.c.line_no)
            )
            history = await session.execute(
                select(order_history)
                .where(order_history.c.order_id == row["order_id"])
                .order_by(order_history.c.id)
            )
            order.lines = [OrderLinePublic(**r) for r in lines.mappings()]
            order.history = [HistoryEntry(**r) for r in history.mappings()]
            shipped = next((h.at for h in order.history if h.to_status == Status.SHIPPED), None)
            window = delivery_estimate(order.status, order.created_at, shipped)
            if window is not None:
                order.delivery_estimate = DeliveryEstimate(earliest=window[0], latest=window[1])
        return order


class Deliverable(BaseModel):
    deliverable: bool
    reason: str | None = Field(None, description="Why the shop does not deliver there")


@router.get("/deliverable", operation_id="delivery-check", response_model=Deliverable)
async def deliverable(
    runtime: RuntimeDep,
    country: Annotated[str, Query(min_length=2, max_length=2, pattern="^[A-Z]{2}$")],
    region: Annotated[str | None, Query(max_length=100)] = None,
) -> Deliverable:
    """Whether the shop delivers to this country (and region): the check a CreateOrder
    makes, asked before anything is held or charged."""
    async with runtime.db.reads() as session:
        reason = await restriction(session, country, region)
    return Deliverable(deliverable=reason is None, reason=reason)


@router.get("/orders", operation_id="orders-list", response_model=OrdersPublic)
async def list_orders(
    runtime: RuntimeDep,
    user_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> OrdersPublic:
    """A user's orders, newest first, as summaries: totals and status, without lines or
    history (one order's `GET /orders/{order_id}` has both)."""
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(orders)
            .where(orders.c.user_id == user_id)
            .order_by(orders.c.created_at.desc(), orders.c.order_id)
            .limit(limit)
            .offset(offset)
        )
        return OrdersPublic(
            items=[OrderSummary(**r) for r in rows.mappings()], limit=limit, offset=offset
        )


@router.get(
    "/orders/by-checkout/{checkout_id}",
    operation_id="orders-by-checkout",
    response_model=OrderPublic,
)
async def order_by_checkout(runtime: RuntimeDep, checkout_id: uuid.UUID) -> OrderPublic:
    return await _load(runtime, orders.c.checkout_id == checkout_id)


@router.get("/orders/{order_id}", operation_id="orders-get", response_model=OrderPublic)
async def get_order(runtime: RuntimeDep, order_id: uuid.UUID) -> OrderPublic:
    return await _load(runtime, orders.c.order_id == order_id)


async def _change(
    runtime: RuntimeDep, order_id: uuid.UUID, target: Status, reason: str
) -> OrderPublic:
    async with runtime.db.transaction() as session:
        current = await lock_status(session, order_id)
        if current is None:
            raise HTTPException(404, detail="order not found")
        if target == Status.CANCELLED and not cancellable(
            current, shipped=await has_shipped(session, order_id)
        ):
            raise HTTPException(
                409, detail=f"an order that is {current} or shipped cannot be cancelled"
            )
        try:
            changed = await record_transition(session, order_id, current, target, reason)
        except IllegalTransition as exc:
            raise HTTPException(409, detail=str(exc)) from exc
        correlation_id = str(changed.checkout_id)
        await runtime.outbox.add(session, changed, correlation_id=correlation_id)
        if returns_stock(current, target):
            restock = RestockInventory(
                checkout_id=changed.checkout_id, order_id=order_id, reason=reason
            )
            await runtime.outbox.add(session, restock, correlation_id=correlation_id)
    return await _load(runtime, orders.c.order_id == order_id)


@router.post("/orders/{order_id}/cancel", operation_id="orders-cancel", response_model=OrderPublic)
async def cancel_order(
    runtime: RuntimeDep, order_id: uuid.UUID, body: StatusChange | None = None
) -> OrderPublic:
    """Cancel an order that has not shipped (an operator's action: it returns a sold order's
    stock but moves no money; a shopper cancels through a refund with `cancels_order`)."""
    return await _change(runtime, order_id, Status.CANCELLED, (body or StatusChange()).reason)


@router.post("/orders/{order_id}/ship", operation_id="orders-ship", response_model=OrderPublic)
async def ship_order(runtime: RuntimeDep, order_id: uuid.UUID) -> OrderPublic:
    return await _change(runtime, order_id, Status.SHIPPED, "shipped")


@router.post(
    "/orders/{order_id}/deliver", operation_id="orders-deliver", response_model=OrderPublic
)
async def deliver_order(runtime: RuntimeDep, order_id: uuid.UUID) -> OrderPublic:
    return await _change(runtime, order_id, Status.DELIVERED, "delivered")
