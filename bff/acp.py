"""Agentic Commerce Protocol checkout sessions (2026-04-17), mapped onto cart, quote and saga.

An outside agent, acting for a signed-in person (bearer token), creates a session with
SKUs and quantities, adds the buyer's address, and completes it with a payment token;
completion publishes the same `InitiateCheckoutCommand` a web checkout does, and the
session then reflects the saga: `complete_in_progress`, `completed` with the order, or
back to `ready_for_payment` with the reason as a message (e.g. `payment_declined`,
`out_of_stock`). See docs/acp.md for what is covered.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bff.auth import CurrentUser
from bff.errors import ApiError, not_found
from bff.idempotency import idempotent
from bff.routes import call, catalog_get, seg, start_checkout
from bff.tables import checkout_sessions
from commerce import pricing
from commerce.contracts.values import Address, CheckoutLine, Text
from commerce.platform.service import RuntimeDep, ServiceRuntime

router = APIRouter(prefix="/checkout_sessions", tags=["agentic-checkout"])
SessionId = Annotated[str, Path(pattern=r"^cs_[A-Za-z0-9]{8,32}$", max_length=40)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
SHIPPING_OPTION = "standard"
SAGA_CODES = {
    "out_of_stock": "out_of_stock", "payment_declined": "payment_declined", "price_changed": "invalid",
    "invalid_request": "invalid", "order_failed": "region_restricted", "timeout": "conflict",
}  # fmt: skip


class AcpModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcpItem(AcpModel):
    id: str = Field(min_length=1, max_length=64, description="The SKU")
    quantity: int = Field(1, ge=1, le=1000)
    name: str | None = None
    unit_amount: int | None = None


class AcpAddress(AcpModel):
    name: Text = Field(min_length=1, max_length=200)
    line_one: Text = Field(min_length=1, max_length=200)
    line_two: Text | None = Field(None, max_length=200)
    city: Text = Field(min_length=1, max_length=100)
    state: Text = Field(min_length=1, max_length=100)
    country: Text = Field(pattern=r"^[A-Z]{2}$")
    postal_code: Text = Field(min_length=1, max_length=20)

    def ours(self) -> Address:
        return Address(
            name=self.name,
            line1=self.line_one,
            line2=self.line_two,
            city=self.city,
            region=self.state,
            postal_code=self.postal_code,
            country=self.country,
        )


class AcpFulfillmentDetails(AcpModel):
    name: str | None = None
    phone_number: str | None = None
    email: str | None = None
    address: AcpAddress | None = None


class AcpDiscounts(AcpModel):
    codes: list[str] = Field(default_factory=list, max_length=5)


class SessionCreate(AcpModel):
    line_items: list[AcpItem] = Field(min_length=1, max_length=100)
    currency: str = Field(pattern=r"^[a-zA-Z]{3}$")
    capabilities: dict[str, Any]
    buyer: dict[str, Any] | None = None
    fulfillment_details: AcpFulfillmentDetails | None = None
    coupons: list[str] | None = None
    discounts: AcpDiscounts | None = None
    locale: str | None = None
    timezone: str | None = None
    metadata: dict[str, Any] | None = None


class SessionUpdate(AcpModel):
    line_items: list[AcpItem] | None = Field(None, min_length=1, max_length=100)
    buyer: dict[str, Any] | None = None
    fulfillment_details: AcpFulfillmentDetails | None = None
    selected_fulfillment_options: list[dict[str, Any]] | None = None
    coupons: list[str] | None = None
    discounts: AcpDiscounts | None = None


class Credential(AcpModel):
    type: str
    token: str = Field(min_length=1, max_length=200)


class Instrument(AcpModel):
    type: str
    credential: Credential


class PaymentData(AcpModel):
    handler_id: str | None = None
    instrument: Instrument
    billing_address: AcpAddress | None = None


class SessionComplete(AcpModel):
    payment_data: PaymentData
    buyer: dict[str, Any] | None = None


def _coupon(create: SessionCreate | SessionUpdate) -> str | None:
    codes = (create.discounts.codes if create.discounts else None) or create.coupons or []
    return codes[0].upper() if codes else None


def _total(kind: str, text: str, amount: int) -> dict[str, Any]:
    return {"type": kind, "display_text": text, "amount": amount}


def _error(code: str, content: str, param: str | None = None) -> dict[str, Any]:
    message = {
        "type": "error",
        "code": code,
        "content_type": "plain",
        "content": content,
        "severity": "high",
    }
    if param:
        message["param"] = param
    return message


def _coupon_warning(reason: str) -> dict[str, Any]:
    code = next(
        (c for words, c in COUPON_WARNINGS if any(w in reason for w in words)),
        "discount_code_invalid",
    )
    return {
        "type": "warning",
        "code": code,
        "content_type": "plain",
        "content": reason,
        "param": "$.discounts.codes[0]",
    }


COUPON_WARNINGS = [
    (("expired", "not valid yet"), "discount_code_expired"),
    (("at least",), "discount_code_minimum_not_met"),
    (("used up",), "discount_code_usage_limit_reached"),
    (("already used",), "discount_code_user_ineligible"),
]


async def _lines(
    runtime: ServiceRuntime, items: list[dict[str, Any]], messages: list[dict[str, Any]]
) -> list[tuple[int, CheckoutLine]]:
    found = []
    for index, item in enumerate(items):
        try:
            sku = (await catalog_get(runtime, f"/skus/{seg(item['sku'])}")).json
        except ApiError as exc:
            if exc.status != 404:
                raise
            messages.append(
                _error("not_found", f"We do not sell {item['sku']}.", f"$.line_items[{index}]")
            )
            continue
        if sku["available"] is not None and sku["available"] < item["quantity"]:
            left = sku["available"]
            text = (
                f"{sku['name']} is out of stock."
                if left <= 0
                else f"Only {left} left of {sku['name']}."
            )
            messages.append(_error("out_of_stock", text, f"$.line_items[{index}]"))
        found.append((index, CheckoutLine(
            sku=sku["sku"], product_id=sku["product_id"], name=sku["name"], quantity=item["quantity"],
            unit_price_cents=sku["price_cents"], tax_class=sku["tax_class"], category=sku["category"],
        )))  # fmt: skip
    return found


async def _priced(
    runtime: ServiceRuntime, user_id: str, lines: list[CheckoutLine], address: Address,
    coupon: str | None, messages: list[dict[str, Any]],
) -> pricing.Quote | None:  # fmt: skip
    """The quote with the coupon, or without it (and a warning) when it cannot be used."""
    for code in [coupon, None] if coupon else [None]:
        try:
            return await pricing.quote(
                runtime.http, runtime.settings, user_id=user_id, lines=lines,
                shipping_address=address, coupon_code=code,
            )  # fmt: skip
        except pricing.CouponInvalid as exc:  # the session goes on without the coupon
            messages.append(_coupon_warning(str(exc)))
        except pricing.AddressUnsupported as exc:
            messages.append(_error("region_restricted", str(exc), "$.fulfillment_details.address"))
            return None
        except pricing.PricingError as exc:
            raise ApiError(
                503,
                "pricing_unavailable",
                f"Prices cannot be calculated now: {exc}",
                error_type="api_error",
            ) from exc
    return None


async def view(runtime: ServiceRuntime, row: dict[str, Any], request: Request) -> dict[str, Any]:
    """The session as the protocol shows it, priced now."""
    messages: list[dict[str, Any]] = []
    lines = await _lines(runtime, row["items"], messages)
    address = Address.model_validate(row["address"]) if row["address"] else None
    quoted = None
    if address is None:
        messages.append(
            {
                "type": "info",
                "content_type": "plain",
                "content": "Add a shipping address to see tax and shipping.",
                "param": "$.fulfillment_details.address",
            }
        )
    elif lines:
        quoted = await _priced(
            runtime, row["user_id"], [li for _, li in lines], address, row["coupon"], messages
        )
    per_line = {q.sku: q for q in quoted.lines} if quoted else {}
    line_items = []
    for index, line in lines:
        base = line.quantity * line.unit_price_cents
        q = per_line.get(line.sku)
        discount, tax = (q.discount_cents, q.tax_cents) if q else (0, 0)
        line_items.append({
            "id": f"li_{index}", "item": {"id": line.sku, "name": line.name, "unit_amount": line.unit_price_cents},
            "quantity": line.quantity, "name": line.name, "unit_amount": line.unit_price_cents, "sku": line.sku,
            "product_id": line.product_id,
            "totals": [_total("items_base_amount", "Items", base), _total("items_discount", "Discount", discount),
                       _total("tax", "Tax", tax), _total("total", "Total", base - discount + tax)],
        })  # fmt: skip
    totals = []
    shipping = pricing.FLAT_SHIPPING_CENTS
    if quoted:
        t = quoted.totals
        shipping = t.shipping_cents
        totals = [_total("subtotal", "Subtotal", t.subtotal_cents), _total("discount", "Discount", t.discount_cents),
                  _total("fulfillment", "Shipping", t.shipping_cents), _total("tax", "Tax", t.tax_cents),
                  _total("total", "Total", t.total_cents)]  # fmt: skip
    status = (
        "ready_for_payment"
        if quoted and not any(m["type"] == "error" for m in messages)
        else "not_ready_for_payment"
    )
    order = None
    if row["checkout_id"]:
        saga = await _saga(runtime, row["checkout_id"])
        state = saga.get("state", "submitted")
        if state == "completed":
            status = "completed"
            order = {"type": "order", "id": str(saga["order_id"]), "checkout_session_id": row["id"],
                     "permalink_url": f"{request.base_url}v1/orders/{saga['order_id']}", "status": "confirmed"}  # fmt: skip
        elif state == "failed":
            messages.append(
                _error(
                    SAGA_CODES.get(saga.get("code") or "", "conflict"),
                    saga.get("reason") or "The checkout failed.",
                )
            )
        else:
            status = "complete_in_progress"
    if row["canceled"]:
        status = "canceled"
    session: dict[str, Any] = {
        "id": row["id"], "status": status, "currency": row["currency"].lower(), "capabilities": {},
        "line_items": line_items, "totals": totals, "messages": messages,
        "fulfillment_options": [{"type": "shipping", "id": SHIPPING_OPTION, "title": "Standard shipping",
                                 "description": "Free from 50.00 after discounts", "totals": [_total("fulfillment", "Shipping", shipping)]}],
        "links": [{"type": "terms_of_use", "url": f"{request.base_url}"}, {"type": "support", "url": f"{request.base_url}docs"}],
        "created_at": row["created_at"].isoformat(), "updated_at": row["updated_at"].isoformat(),
        "expires_at": (row["created_at"] + timedelta(hours=24)).isoformat(),
    }  # fmt: skip
    if address is not None:
        session["fulfillment_details"] = {
            "address": {
                "name": address.name,
                "line_one": address.line1,
                "city": address.city,
                "state": address.region or "",
                "country": address.country,
                "postal_code": address.postal_code,
            }
        }
        session["selected_fulfillment_options"] = [
            {
                "type": "shipping",
                "option_id": SHIPPING_OPTION,
                "item_ids": [li["id"] for li in line_items],
            }
        ]
    if row["buyer"]:
        session["buyer"] = row["buyer"]
    if order:
        session["order"] = order
    return session


async def _saga(runtime: ServiceRuntime, checkout_id: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await call(
            runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}"
        )
        return result
    except ApiError as exc:
        if exc.status == 404:
            return {"state": "submitted"}
        raise


async def _row(runtime: ServiceRuntime, user: str, session_id: str) -> dict[str, Any]:
    async with runtime.db.sessions() as session:
        row = (
            (
                await session.execute(
                    select(checkout_sessions).where(checkout_sessions.c.id == session_id)
                )
            )
            .mappings()
            .first()
        )
    if row is None or row["user_id"] != user:
        raise not_found("checkout session")
    return dict(row)


def _changes(body: SessionCreate | SessionUpdate) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if body.line_items is not None:
        values["items"] = [{"sku": i.id, "quantity": i.quantity} for i in body.line_items]
    if body.fulfillment_details and body.fulfillment_details.address:
        values["address"] = body.fulfillment_details.address.ours().model_dump(mode="json")
    if body.buyer is not None:
        values["buyer"] = body.buyer
    coupon = _coupon(body)
    if coupon is not None:
        values["coupon"] = coupon
    return values


@router.post("", operation_id="acp-create-session", status_code=201)
async def create_session(
    runtime: RuntimeDep,
    user: CurrentUser,
    request: Request,
    body: SessionCreate,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Create a checkout session for SKUs and quantities (ACP `createCheckoutSession`)."""
    if body.currency.upper() != "USD":
        raise ApiError(
            422, "unsupported_currency", "This shop sells in USD only.", param="$.currency"
        )

    async def run() -> tuple[int, Any]:
        session_id = "cs_" + secrets.token_hex(12)
        values = {
            "id": session_id,
            "user_id": user,
            "currency": "USD",
            "items": [],
            "address": None,
            "buyer": None,
            "coupon": None,
            **_changes(body),
        }
        async with runtime.db.transaction() as session:
            row = (
                (
                    await session.execute(
                        insert(checkout_sessions).values(**values).returning(checkout_sessions)
                    )
                )
                .mappings()
                .one()
            )
        return 201, await view(runtime, dict(row), request)

    return await idempotent(
        runtime, user, idempotency_key, "POST /checkout_sessions", body.model_dump(mode="json"), run
    )


@router.get("/{checkout_session_id}", operation_id="acp-get-session")
async def get_session(
    runtime: RuntimeDep, user: CurrentUser, request: Request, checkout_session_id: SessionId
) -> Any:
    return await view(runtime, await _row(runtime, user, checkout_session_id), request)


@router.post("/{checkout_session_id}", operation_id="acp-update-session")
async def update_session(
    runtime: RuntimeDep,
    user: CurrentUser,
    request: Request,
    checkout_session_id: SessionId,
    body: SessionUpdate,
) -> Any:
    row = await _row(runtime, user, checkout_session_id)
    if row["checkout_id"] or row["canceled"]:
        raise ApiError(409, "session_closed", "This checkout session can no longer change.")
    changes = _changes(body)
    if changes:
        async with runtime.db.transaction() as session:
            await session.execute(
                update(checkout_sessions)
                .where(checkout_sessions.c.id == checkout_session_id)
                .values(**changes, updated_at=func.now())
            )
    return await view(runtime, await _row(runtime, user, checkout_session_id), request)


@router.post("/{checkout_session_id}/complete", operation_id="acp-complete-session")
async def complete_session(
    runtime: RuntimeDep,
    user: CurrentUser,
    request: Request,
    checkout_session_id: SessionId,
    body: SessionComplete,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Pay: publishes the checkout like any client; the session then follows the saga."""

    async def run() -> tuple[int, Any]:
        row = await _row(runtime, user, checkout_session_id)
        current = await view(runtime, row, request)
        if current["status"] != "ready_for_payment":
            raise ApiError(
                409,
                "not_ready_for_payment",
                f"The session is {current['status']}; see its messages.",
            )
        address = Address.model_validate(row["address"])
        lines = await _lines(runtime, row["items"], [])
        refused: list[dict[str, Any]] = []
        quoted = await _priced(
            runtime, user, [li for _, li in lines], address, row["coupon"], refused
        )
        coupon = None if refused else row["coupon"]  # only a coupon the quote could apply
        if quoted is None:
            raise ApiError(
                409, "not_ready_for_payment", "The session cannot be priced; see its messages."
            )

        async def claim(session: AsyncSession, checkout_id: uuid.UUID) -> None:
            """Only one completion pays: a concurrent one finds the session taken."""
            taken = await session.scalar(
                update(checkout_sessions)
                .where(
                    checkout_sessions.c.id == checkout_session_id,
                    checkout_sessions.c.checkout_id.is_(None),
                    checkout_sessions.c.canceled == 0,
                )
                .values(checkout_id=str(checkout_id), updated_at=func.now())
                .returning(checkout_sessions.c.id)
            )
            if taken is None:
                raise ApiError(
                    409, "not_ready_for_payment", "This checkout session was completed or canceled."
                )

        await start_checkout(
            runtime, user, None, [li for _, li in lines], address, coupon,
            body.payment_data.instrument.credential.token, quoted, source="agent", claim=claim,
        )  # fmt: skip
        return 200, await view(runtime, await _row(runtime, user, checkout_session_id), request)

    return await idempotent(
        runtime,
        user,
        idempotency_key,
        f"POST /checkout_sessions/{checkout_session_id}/complete",
        body.model_dump(mode="json"),
        run,
    )


@router.post("/{checkout_session_id}/cancel", operation_id="acp-cancel-session")
async def cancel_session(
    runtime: RuntimeDep,
    user: CurrentUser,
    request: Request,
    checkout_session_id: SessionId,
    body: dict[str, Any] | None = None,
) -> Any:
    await _row(runtime, user, checkout_session_id)
    async with runtime.db.transaction() as session:
        canceled = await session.scalar(
            update(checkout_sessions)
            .where(
                checkout_sessions.c.id == checkout_session_id,
                checkout_sessions.c.checkout_id.is_(None),
            )
            .values(canceled=1, updated_at=func.now())
            .returning(checkout_sessions.c.id)
        )
    if canceled is None:
        raise ApiError(
            405,
            "not_cancelable",
            "A session that was paid cannot be canceled; request a refund of the order.",
        )
    return await view(runtime, await _row(runtime, user, checkout_session_id), request)
