"""cart's HTTP API. The user id is in the path; the gateway BFF decides who may use which."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.cart import domain, store
from commerce.cart.store import cart_for, remove_skus
from commerce.contracts.values import ID_PATTERN
from commerce.platform.service import RuntimeDep

router = APIRouter(tags=["carts"])
UserId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Sku = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


class LineIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"sku": "BAT-AA-8", "product_id": "p-0042", "name": "AA batteries, 8 pack", "quantity": 2,
                 "unit_price_cents": 899, "currency": "USD", "category": "electronics"}
            ]
        },
    )  # fmt: skip
    sku: str = Field(min_length=1, max_length=64)
    product_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    quantity: int = Field(1, ge=1, le=1000)
    unit_price_cents: int = Field(ge=0, le=100_000_000)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    category: str | None = Field(None, max_length=64)
    tax_class: str = Field("standard", pattern=r"^(standard|reduced|zero)$")


class QuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 3}]})
    quantity: int = Field(ge=1, le=1000)


class LinePublic(BaseModel):
    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    currency: str
    category: str | None
    tax_class: str
    line_total_cents: int


class CartPublic(BaseModel):
    cart_id: uuid.UUID
    user_id: str
    version: int
    lines: list[LinePublic]
    item_count: int
    subtotal_cents: int
    currency: str


def _public(cart: dict[str, Any], rows: list[dict[str, Any]]) -> CartPublic:
    lines = [LinePublic(**r, line_total_cents=r["quantity"] * r["unit_price_cents"]) for r in rows]
    return CartPublic(
        cart_id=cart["cart_id"], user_id=cart["user_id"], version=cart["version"], lines=lines,
        item_count=sum(line.quantity for line in lines),
        subtotal_cents=sum(line.line_total_cents for line in lines),
        currency=lines[0].currency if lines else "USD",
    )  # fmt: skip


def _check_version(cart: dict[str, Any], if_match: str | None) -> None:
    conflict = domain.version_conflict(cart["version"], if_match)
    if conflict:
        raise HTTPException(412, detail=conflict)


async def _respond(session: AsyncSession, cart: dict[str, Any], response: Response) -> CartPublic:
    """The cart as a change left it in `session`. The change bumped the version of the row
    this transaction holds locked exactly once, so the new version is known without reading."""
    cart = {**cart, "version": cart["version"] + 1}
    return _tagged(_public(cart, await store.lines(session, cart["cart_id"])), response)


def _tagged(public: CartPublic, response: Response) -> CartPublic:
    response.headers["ETag"] = f'"{public.version}"'
    return public


@router.get("/carts/{user_id}", operation_id="carts-get", response_model=CartPublic)
async def get_cart(runtime: RuntimeDep, user_id: UserId, response: Response) -> CartPublic:
    async with runtime.db.reads() as session:  # a first use's cart row commits on its own
        cart, lines = await store.cart_with_lines(session, user_id)
    return _tagged(_public(cart, lines), response)


@router.post("/carts/{user_id}/lines", operation_id="carts-add-line", response_model=CartPublic)
async def add_line(
    runtime: RuntimeDep, user_id: UserId, line: LineIn, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CartPublic:  # fmt: skip
    """Add an item; adding a SKU already in the cart increases its quantity."""
    async with runtime.db.transaction() as session:
        cart = await cart_for(session, user_id, lock=True)
        _check_version(cart, if_match)
        # a cart is bought whole: it holds no more lines than one checkout may carry
        # (the cart row is locked, so two additions cannot both pass this count)
        lines, has_sku = await store.line_count(session, cart["cart_id"], line.sku)
        full = domain.cart_full(lines, has_sku)
        if full:
            raise HTTPException(422, detail={"code": "cart_full", "message": full})
        if not await store.add_line(session, cart["cart_id"], line.model_dump()):
            raise HTTPException(422, detail=domain.TOO_MANY_UNITS)
        return await _respond(session, cart, response)


@router.put(
    "/carts/{user_id}/lines/{sku}", operation_id="carts-set-quantity", response_model=CartPublic
)
async def set_quantity(
    runtime: RuntimeDep, user_id: UserId, sku: Sku, body: QuantityIn, response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> CartPublic:  # fmt: skip
    async with runtime.db.transaction() as session:
        cart = await cart_for(session, user_id, lock=True)
        _check_version(cart, if_match)
        if not await store.set_quantity(session, cart["cart_id"], sku, body.quantity):
            raise HTTPException(404, detail=f"{sku} is not in the cart")
        return await _respond(session, cart, response)


@router.delete(
    "/carts/{user_id}/lines/{sku}", operation_id="carts-remove-line", response_model=CartPublic
)
async def remove_line(
    runtime: RuntimeDep, user_id: UserId, sku: Sku, response: Response
) -> CartPublic:
    async with runtime.db.transaction() as session:
        cart = await cart_for(session, user_id, lock=True)
        if not await remove_skus(session, cart["cart_id"], [sku]):
            raise HTTPException(404, detail=f"{sku} is not in the cart")
        return await _respond(session, cart, response)


@router.delete("/carts/{user_id}", operation_id="carts-empty", response_model=CartPublic)
async def empty_cart(runtime: RuntimeDep, user_id: UserId, response: Response) -> CartPublic:
    async with runtime.db.transaction() as session:
        cart = await cart_for(session, user_id, lock=True)
        await store.empty(session, cart["cart_id"])
        return await _respond(session, cart, response)
