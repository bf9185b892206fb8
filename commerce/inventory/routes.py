"""inventory's HTTP API: stock levels (read by the catalog) and reservations."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from commerce.inventory import domain
from commerce.inventory.store import InventoryStore
from commerce.inventory.tables import reservation_lines, reservations, stock
from commerce.platform.db import as_dict, fetch
from commerce.platform.service import RuntimeDep

router = APIRouter(tags=["stock"])


class StockPublic(BaseModel):
    sku: str
    product_id: str
    on_hand: int
    reserved: int
    available: int

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "BAT-AA-8",
                    "product_id": "p-0042",
                    "on_hand": 120,
                    "reserved": 3,
                    "available": 117,
                }
            ]
        }
    )


class StockList(BaseModel):
    items: list[StockPublic]


class StockUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"on_hand": 50, "product_id": "p-0042"}]}
    )

    on_hand: int = Field(ge=0, le=10_000_000)
    product_id: str | None = Field(None, min_length=1, max_length=64)


class ReservationPublic(BaseModel):
    checkout_id: uuid.UUID
    status: str
    reason: str | None
    expires_at: str | None
    lines: dict[str, int]


_STOCK_OF = (
    f"SELECT sku, product_id, on_hand, reserved FROM {stock.name} WHERE sku = ANY($1::text[])"
    " ORDER BY sku"
)


def _public(row: Any) -> StockPublic:
    m = as_dict(row)
    return StockPublic(
        sku=m["sku"], product_id=m["product_id"], on_hand=m["on_hand"], reserved=m["reserved"],
        available=m["on_hand"] - m["reserved"],
    )  # fmt: skip


@router.get("/stock", operation_id="stock-list", response_model=StockList)
async def list_stock(
    runtime: RuntimeDep,
    sku: Annotated[list[str], Query(min_length=1, max_length=200, description="SKUs to look up")],
) -> StockList:
    """Stock levels of the given SKUs (unknown SKUs are left out)."""
    async with runtime.db.reads() as session:
        rows = await fetch(session, _STOCK_OF, sku)
    return StockList(items=[_public(r) for r in rows])


@router.get("/stock/{sku}", operation_id="stock-get", response_model=StockPublic)
async def get_stock(runtime: RuntimeDep, sku: str) -> StockPublic:
    async with runtime.db.sessions() as session:
        row = (await session.execute(select(stock).where(stock.c.sku == sku))).first()
    if row is None:
        raise HTTPException(404, detail=f"unknown SKU {sku!r}")
    return _public(row)


@router.put("/stock/{sku}", operation_id="stock-set", response_model=StockPublic)
async def set_stock(runtime: RuntimeDep, sku: str, body: StockUpdate) -> StockPublic:
    """Set the units on hand (a stock count). Refused below what is currently reserved."""
    if not 1 <= len(sku) <= 64:
        raise HTTPException(422, detail="sku must be 1 to 64 characters")
    async with runtime.db.transaction() as session:
        store = InventoryStore(session)
        current = await store.lock_stock(sku)
        if current is None:
            if body.product_id is None:
                raise HTTPException(422, detail="product_id is required for a new SKU")
            await store.add_stock(sku, body.product_id, body.on_hand)
        else:
            refusal = domain.stock_count_refusal(sku, body.on_hand, reserved=current["reserved"])
            if refusal:
                raise HTTPException(409, detail=refusal)
            await store.count_stock(sku, body.on_hand, body.product_id)
        row = (await session.execute(select(stock).where(stock.c.sku == sku))).first()
    return _public(row)


@router.get(
    "/reservations/{checkout_id}",
    operation_id="reservations-get",
    response_model=ReservationPublic,
    tags=["reservations"],
)
async def get_reservation(runtime: RuntimeDep, checkout_id: uuid.UUID) -> ReservationPublic:
    async with runtime.db.sessions() as session:
        row = (
            await session.execute(
                select(reservations).where(reservations.c.checkout_id == checkout_id)
            )
        ).first()
        if row is None:
            raise HTTPException(404, detail="no reservation for this checkout")
        lines = await session.execute(
            select(reservation_lines.c.sku, reservation_lines.c.quantity).where(
                reservation_lines.c.checkout_id == checkout_id
            )
        )
        m = row._mapping
        return ReservationPublic(
            checkout_id=checkout_id, status=m["status"], reason=m["reason"],
            expires_at=m["expires_at"].isoformat() if m["expires_at"] else None,
            lines={str(sku): int(q) for sku, q in lines},
        )  # fmt: skip
