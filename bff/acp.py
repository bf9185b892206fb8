"""Agentic Commerce Protocol checkout sessions (2026-04-17), mapped onto cart, quote and saga.

An outside agent, acting for a person (their bearer token, or a signed agent client's key,
see bff/acp_agents.py), creates a session with SKUs and quantities, adds the buyer's
address, and completes it with a payment token (a delegated `vt_…` token is redeemed at
payment-gateway first); completion publishes the same `InitiateCheckoutCommand` a web
checkout does and waits for the saga: `completed` with the order, or the reason it failed
(e.g. `payment_declined`, `out_of_stock`) as the protocol's Error object and as a message
on the session. Requests are checked against the protocol's own schemas; every error here
is its Error object. See docs/acp.md for what is covered.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bff.acp_agents import API_KEY_PREFIX, verified
from bff.acp_openapi import ERRORS, operation
from bff.auth import bearer, current_user, limited_user
from bff.errors import ApiError, not_found
from bff.idempotency import idempotent
from bff.services import checkout
from bff.tables import checkout_sessions
from bff.upstream import call, catalog_get
from commerce import pricing
from commerce.checkout.waiting import MAX_WAIT_SECONDS
from commerce.contracts.acp import API_VERSION, DELEGATE_PAYMENT, first_problem, rfc3339
from commerce.contracts.values import Address, CheckoutLine
from commerce.platform.service import RuntimeDep, ServiceRuntime, get_runtime
from shopapi.client import seg

router = APIRouter(prefix="/checkout_sessions", tags=["agentic-checkout"])
SHIPPING_OPTION = "standard"
SAGA_CODES = {
    "out_of_stock": "out_of_stock", "payment_declined": "payment_declined", "price_changed": "invalid",
    "invalid_request": "invalid", "order_failed": "region_restricted", "timeout": "conflict",
}  # fmt: skip
WRITE_ONLY = (
    "affiliate_attribution",
    "risk_signals",
    "marketing_consents",
    "authentication_result",
)
ECHOED = ("quote_id", "locale", "timezone", "metadata", "fulfillment_groups")


async def body_of(request: Request, schema: str, *, required: bool = True) -> dict[str, Any]:
    """The request's JSON body checked against the protocol's schema: 400 when it is not
    JSON, 422 naming the first field (as a JSONPath) that the schema refuses."""
    raw = await request.body()
    if not raw.strip():
        if not required:
            return {}
        raise ApiError(400, "invalid_json", "A JSON request body is required.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}.") from exc
    problem = first_problem(schema, body)
    if problem is not None:
        raise ApiError(422, "invalid_field", problem[0], param=problem[1])
    try:
        text = json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise ApiError(400, "invalid_json", "The request body has an unpaired surrogate.") from exc
    if b"\\u0000" in text:  # JSON's escape of NUL, which PostgreSQL cannot store
        raise ApiError(400, "invalid_json", "The request body must not contain NUL characters.")
    assert isinstance(body, dict)
    return body


def conflict(code: str, message: str) -> ApiError:
    """A 409: the protocol documents 409 with Retry-After (after which, re-read the session)."""
    return ApiError(409, code, message, headers={"Retry-After": "1"})


def idempotency_key(request: Request) -> str:
    """The protocol's Idempotency-Key: MUST be on every POST, 1 to 255 characters."""
    key = request.headers.get("idempotency-key")
    if key is None:
        raise ApiError(400, "idempotency_key_required", "Idempotency-Key header is required")
    if not 1 <= len(key) <= 255:
        raise ApiError(
            400, "idempotency_key_required", "Idempotency-Key must be 1 to 255 characters.",
            param="$.headers.Idempotency-Key",
        )  # fmt: skip
    return key


async def once(
    runtime: ServiceRuntime, user: str, request: Request, route: str, body: Any,
    run: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:  # fmt: skip
    """`idempotent` with the protocol's codes (and Retry-After on an in-flight collision)."""
    key = idempotency_key(request)
    scoped = hashlib.sha256(f"{route}\n{key}".encode()).hexdigest()  # per identity + endpoint
    try:
        response = await idempotent(runtime, user, scoped, route, body, run)
    except ApiError as exc:
        if exc.code == "idempotency_key_reused":
            raise ApiError(
                422, "idempotency_conflict",
                "Idempotency-Key has already been used with a different request body",
            ) from exc  # fmt: skip
        if exc.code == "request_in_flight":
            raise conflict(
                "idempotency_in_flight",
                "A request with this Idempotency-Key is currently being processed",
            ) from exc  # fmt: skip
        raise
    response.headers["Idempotency-Key"] = key
    return response


class AcpModel(BaseModel):
    """What the shop reads from a request the protocol's schema already accepted."""

    model_config = ConfigDict(extra="ignore")


class AcpItem(AcpModel):
    id: str
    quantity: int = 1


class AcpAddress(AcpModel):
    name: str
    line_one: str
    line_two: str | None = None
    city: str
    state: str
    country: str
    postal_code: str

    def ours(self) -> Address:
        """Our address contract; a ValidationError when the shop cannot use it."""
        return Address(
            name=self.name.strip(),
            line1=self.line_one.strip(),
            line2=self.line_two or None,
            city=self.city.strip(),
            region=self.state.strip() or None,
            postal_code=self.postal_code.strip(),
            country=self.country.strip().upper(),
        )


class AcpFulfillmentDetails(AcpModel):
    address: AcpAddress | None = None


class AcpDiscounts(AcpModel):
    codes: list[str] | None = None


class SessionUpdate(AcpModel):
    line_items: list[AcpItem] | None = None
    buyer: dict[str, Any] | None = None
    fulfillment_details: AcpFulfillmentDetails | None = None
    coupons: list[str] | None = None
    discounts: AcpDiscounts | None = None


class SessionCreate(SessionUpdate):
    currency: str


class Credential(AcpModel):
    type: str
    token: str


class Instrument(AcpModel):
    type: str
    credential: Credential


class PaymentData(AcpModel):
    handler_id: str | None = None
    instrument: Instrument | None = None
    purchase_order_number: str | None = None


class SessionComplete(AcpModel):
    payment_data: PaymentData
    buyer: dict[str, Any] | None = None


def _coupon(body: SessionUpdate) -> str | None:
    """The first code asked for ("" clears the codes), None when the request names none."""
    if body.discounts is not None and body.discounts.codes is not None:
        codes = body.discounts.codes
    elif body.coupons is not None:
        codes = body.coupons
    else:
        return None
    return codes[0].strip().upper()[:64] if codes else ""


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
            if not 1 <= len(item["sku"]) <= 64:
                raise ApiError(404, "not_found", "no such SKU")
            sku = (await catalog_get(runtime, f"/skus/{seg(item['sku'])}")).json
        except ApiError as exc:
            if exc.status >= 500:
                raise
            messages.append(
                _error("not_found", f"We do not sell {item['sku'][:64]}.", f"$.line_items[{index}]")
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
            return await checkout.price(runtime, user_id, lines, address, code)
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
    extras = row.get("extras") or {}
    for problem in extras.get("problems", []):
        session["messages"].append(_error(problem["code"], problem["content"], problem["param"]))
        if session["status"] == "ready_for_payment":
            session["status"] = "not_ready_for_payment"
    for name in ECHOED:
        if name in extras:
            session[name] = extras[name]
    session["protocol"] = {"version": API_VERSION}
    if order:
        session["order"] = order
    return session


async def _saga(runtime: ServiceRuntime, checkout_id: str, wait: float = 0) -> dict[str, Any]:
    """The saga's state; with `wait`, a long poll answered once it is finished (or the
    wait ends), woken by the orchestrator's commits (docs/adr/0038)."""
    extra: dict[str, Any] = {}
    if wait > 0:
        extra = {
            "params": {"wait": wait, "until": "finished"},
            "timeout": wait + runtime.settings.http_timeout_seconds,
        }
    try:
        result: dict[str, Any] = await call(
            runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}", **extra
        )
        return result
    except ApiError as exc:
        if exc.status == 404:
            return {"state": "submitted"}
        raise


async def _row(runtime: ServiceRuntime, user: str, session_id: str) -> dict[str, Any]:
    if not SESSION_ID.fullmatch(session_id):
        raise not_found("checkout session")
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


def _changes(body: SessionUpdate, raw: dict[str, Any], extras: dict[str, Any]) -> dict[str, Any]:
    """Column values for what the request changes; what the shop cannot use becomes a
    message on the session (kept in `extras.problems`) instead of a refusal."""
    values: dict[str, Any] = {}
    problems = [p for p in extras.get("problems", []) if p["param"] == "$.currency"]
    if body.line_items is not None:
        values["items"] = [{"sku": i.id, "quantity": i.quantity} for i in body.line_items]
    if body.fulfillment_details and body.fulfillment_details.address:
        try:
            values["address"] = body.fulfillment_details.address.ours().model_dump(mode="json")
        except ValidationError as exc:
            first = exc.errors()[0]
            problems.append({
                "code": "invalid", "param": "$.fulfillment_details.address",
                "content": f"We cannot ship to this address: {first['loc'][-1] if first['loc'] else 'address'} {first['msg']}.",
            })  # fmt: skip
            values["address"] = None
    if body.buyer is not None:
        values["buyer"] = body.buyer
    coupon = _coupon(body)
    if coupon is not None:
        values["coupon"] = coupon or None
    if isinstance(body, SessionCreate) and body.currency.lower() != "usd":
        problems.append({
            "code": "unsupported", "param": "$.currency",
            "content": f"This shop sells in USD only, not {body.currency[:16]!r}.",
        })  # fmt: skip
    kept = {
        **extras,
        **{k: raw[k] for k in (*ECHOED, *WRITE_ONLY) if k in raw},
        "problems": problems,
    }
    values["extras"] = kept
    return values


def _api_version(request: Request) -> None:
    """API-Version must name this version; a Timestamp, when sent, must be RFC 3339."""
    stamp = request.headers.get("timestamp")
    if stamp is not None:
        try:
            valid = rfc3339(stamp.strip())
        except ValueError:
            valid = False
        if not valid:
            raise ApiError(
                400, "invalid_timestamp", "Timestamp must be an RFC 3339 date-time.",
                param="$.headers.Timestamp",
            )  # fmt: skip
    version = request.headers.get("api-version")
    if version is None:
        raise ApiError(
            400, "api_version_required", f"API-Version header is required ({API_VERSION})."
        )
    if version.strip() != API_VERSION:
        raise ApiError(
            400, "unsupported_api_version",
            f"API-Version {version[:32]!r} is not supported; this server speaks {API_VERSION}.",
        )  # fmt: skip


async def acp_caller(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """The person a protocol request acts for: a signed agent client's (its API key as the
    bearer token, see bff/acp_agents.py) or the person's own token's; API-Version checked."""
    if credentials is not None and credentials.credentials.startswith(API_KEY_PREFIX):
        runtime = get_runtime(request)
        agent = await verified(
            request, runtime.db, credentials.credentials,
            tolerance_seconds=runtime.settings.bff.signing.signature_tolerance_seconds,
        )  # fmt: skip
        request.state.acp_agent = agent.agent_id
        user = agent.user_id
    else:
        user = await current_user(request, credentials)
    _api_version(request)
    return await limited_user(request, user)


Caller = Annotated[str, Depends(acp_caller)]
SESSION_ID = re.compile(r"cs_[A-Za-z0-9]{8,32}")


@router.post(
    "", operation_id="acp-create-session", status_code=201,
    openapi_extra=operation(201, "CheckoutSession", body="CheckoutSessionCreateRequest"),
)  # fmt: skip
async def create_session(runtime: RuntimeDep, user: Caller, request: Request) -> Any:
    """Create a checkout session for SKUs and quantities (ACP `createCheckoutSession`)."""
    raw = await body_of(request, "CheckoutSessionCreateRequest")
    body = SessionCreate.model_validate(raw)

    async def run() -> tuple[int, Any]:
        session_id = "cs_" + secrets.token_hex(12)
        values = {
            "id": session_id, "user_id": user, "currency": "USD", "items": [], "address": None,
            "buyer": None, "coupon": None, "agent_id": getattr(request.state, "acp_agent", None),
            **_changes(body, raw, {}),
        }  # fmt: skip
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

    return await once(runtime, user, request, "POST /checkout_sessions", raw, run)


@router.get(
    "/{checkout_session_id}", operation_id="acp-get-session",
    openapi_extra=operation(200, "CheckoutSession"),
)  # fmt: skip
async def get_session(
    runtime: RuntimeDep, user: Caller, request: Request, checkout_session_id: str
) -> Any:
    return await view(runtime, await _row(runtime, user, checkout_session_id), request)


@router.post(
    "/{checkout_session_id}", operation_id="acp-update-session",
    openapi_extra=operation(200, "CheckoutSession", body="CheckoutSessionUpdateRequest"),
)  # fmt: skip
async def update_session(
    runtime: RuntimeDep, user: Caller, request: Request, checkout_session_id: str
) -> Any:
    raw = await body_of(request, "CheckoutSessionUpdateRequest")
    body = SessionUpdate.model_validate(raw)

    async def run() -> tuple[int, Any]:
        row = await _row(runtime, user, checkout_session_id)
        if row["checkout_id"] or row["canceled"]:
            raise conflict("session_closed", "This checkout session can no longer change.")
        changes = _changes(body, raw, row["extras"] or {})
        async with runtime.db.transaction() as session:
            await session.execute(
                update(checkout_sessions)
                .where(checkout_sessions.c.id == checkout_session_id)
                .values(**changes, updated_at=func.now())
            )
        return 200, await view(runtime, await _row(runtime, user, checkout_session_id), request)

    return await once(
        runtime, user, request, f"POST /checkout_sessions/{checkout_session_id}", raw, run
    )


async def _outcome(
    runtime: ServiceRuntime, user: str, session_id: str, request: Request
) -> tuple[int, Any]:
    """Wait (bounded) for the saga of a completed session: 200 with the order, or the
    reason it failed as an Error; 503 while it still runs (retry with the same key)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + runtime.settings.bff.acp.complete_wait_seconds
    while True:
        row = await _row(runtime, user, session_id)
        wait = max(min(deadline - loop.time(), MAX_WAIT_SECONDS), 0.0)
        saga = await _saga(runtime, row["checkout_id"], wait)
        state = saga.get("state")
        if state == "completed":
            return 200, await view(runtime, row, request)
        if state == "failed":
            raise ApiError(
                422, SAGA_CODES.get(saga.get("code") or "", "conflict"),
                saga.get("reason") or "The checkout failed; nothing was charged.",
                param="$.payment_data",
            )  # fmt: skip
        if asyncio.get_running_loop().time() > deadline:
            raise ApiError(
                503, "complete_in_progress",
                "The payment is still being processed; retry with the same Idempotency-Key.",
                error_type="api_error", headers={"Retry-After": "2"},
            )  # fmt: skip


@router.post(
    "/{checkout_session_id}/complete", operation_id="acp-complete-session",
    openapi_extra=operation(
        200, "CheckoutSessionWithOrder", body="CheckoutSessionCompleteRequest"
    ),
)  # fmt: skip
async def complete_session(
    runtime: RuntimeDep, user: Caller, request: Request, checkout_session_id: str
) -> Any:
    """Pay, then answer with the order once the saga completed (CheckoutSessionWithOrder)."""
    raw = await body_of(request, "CheckoutSessionCompleteRequest")
    body = SessionComplete.model_validate(raw)

    async def run() -> tuple[int, Any]:
        row = await _row(runtime, user, checkout_session_id)
        if row["checkout_id"]:  # paid already (e.g. a retry after a 503): its outcome
            return await _outcome(runtime, user, checkout_session_id, request)
        current = await view(runtime, row, request)
        if current["status"] != "ready_for_payment":
            raise conflict(
                "not_ready_for_payment", f"The session is {current['status']}; see its messages."
            )  # fmt: skip
        instrument = body.payment_data.instrument
        if instrument is None:
            raise ApiError(
                422, "unsupported", "This shop takes card payments only, not purchase orders.",
                param="$.payment_data",
            )  # fmt: skip
        address = Address.model_validate(row["address"])
        lines = await _lines(runtime, row["items"], [])
        refused: list[dict[str, Any]] = []
        quoted = await _priced(
            runtime, user, [li for _, li in lines], address, row["coupon"], refused
        )
        coupon = None if refused else row["coupon"]  # only a coupon the quote could apply
        if quoted is None:
            raise conflict(
                "not_ready_for_payment", "The session cannot be priced; see its messages."
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
                raise conflict(
                    "not_ready_for_payment", "This checkout session was completed or canceled."
                )

        checkout_id = uuid.uuid4()
        token = instrument.credential.token
        if token.startswith("vt_"):
            await _redeem(
                runtime, token, checkout_session_id, checkout_id, quoted.totals.total_cents
            )
        await checkout.start(
            runtime, user, None, [li for _, li in lines], address, coupon,
            token, quoted, source="agent", claim=claim, checkout_id=checkout_id,
        )  # fmt: skip
        return await _outcome(runtime, user, checkout_session_id, request)

    return await once(
        runtime, user, request, f"POST /checkout_sessions/{checkout_session_id}/complete", raw, run
    )


async def _redeem(
    runtime: ServiceRuntime, token: str, session_id: str, checkout_id: uuid.UUID, total: int
) -> None:
    """Spend a delegated payment token on this checkout (payment-gateway checks it is
    unused, unexpired, for this session and merchant, and covers the total)."""
    param = "$.payment_data.instrument.credential.token"
    body = {
        "checkout_id": str(checkout_id), "checkout_session_id": session_id,
        "merchant_id": runtime.settings.bff.acp.merchant_id, "amount_cents": total, "currency": "usd",
    }  # fmt: skip
    try:
        await call(
            runtime,
            "payment-gateway",
            "POST",
            f"/delegated-tokens/{seg(token[:40])}/redeem",
            json=body,
        )
    except ApiError as exc:
        if exc.status == 404:
            raise ApiError(422, "invalid", "No such payment token.", param=param) from exc
        if exc.status == 422:
            raise ApiError(422, exc.code, exc.message, param=param) from exc
        raise


@router.post(
    "/{checkout_session_id}/cancel", operation_id="acp-cancel-session",
    openapi_extra=operation(
        200, "CheckoutSession", body="CancelSessionRequest", body_required=False,
        errors=(*ERRORS, "405"),
    ),
)  # fmt: skip
async def cancel_session(
    runtime: RuntimeDep, user: Caller, request: Request, checkout_session_id: str
) -> Any:
    raw = await body_of(request, "CancelSessionRequest", required=False)

    async def run() -> tuple[int, Any]:
        await _row(runtime, user, checkout_session_id)
        async with runtime.db.transaction() as session:
            canceled = await session.scalar(
                update(checkout_sessions)
                .where(
                    checkout_sessions.c.id == checkout_session_id,
                    checkout_sessions.c.checkout_id.is_(None),
                    checkout_sessions.c.canceled == 0,
                )
                .values(canceled=1, updated_at=func.now())
                .returning(checkout_sessions.c.id)
            )
        if canceled is None:
            raise ApiError(
                405, "not_cancelable",
                "This session is already completed or canceled; request a refund of an order.",
            )  # fmt: skip
        return 200, await view(runtime, await _row(runtime, user, checkout_session_id), request)

    return await once(
        runtime, user, request, f"POST /checkout_sessions/{checkout_session_id}/cancel", raw, run
    )


ALLOW = {"": "POST", "/{checkout_session_id}": "GET, POST",
         "/{checkout_session_id}/complete": "POST", "/{checkout_session_id}/cancel": "POST"}  # fmt: skip


def _not_allowed(allow: str) -> Callable[[], Awaitable[JSONResponse]]:
    async def answer() -> JSONResponse:
        raise ApiError(
            405, "method_not_allowed", f"This resource supports {allow} only.",
            headers={"Allow": allow},
        )  # fmt: skip

    return answer


for _path, _allow in ALLOW.items():
    router.add_api_route(
        _path, _not_allowed(_allow), include_in_schema=False,
        methods=sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} - set(_allow.split(", "))),
    )  # fmt: skip


delegation = APIRouter(prefix="/agentic_commerce", tags=["agentic-checkout"])


@delegation.post(
    "/delegate_payment", operation_id="acp-delegate-payment", status_code=201,
    openapi_extra=operation(
        201, "DelegatePaymentResponse", body="DelegatePaymentRequest", document=DELEGATE_PAYMENT
    ),
)  # fmt: skip
async def delegate_payment(runtime: RuntimeDep, user: Caller, request: Request) -> Response:
    """The protocol's delegate_payment, served by payment-gateway: the body goes through
    as received, is neither kept nor logged here; the answer is the token (`vt_…`)."""
    key = idempotency_key(request)
    scoped = hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()  # per identity
    try:
        answer = await runtime.http.post(
            f"{runtime.url_of('payment-gateway')}/agentic_commerce/delegate_payment",
            content=await request.body(),
            headers={"Content-Type": "application/json", "Idempotency-Key": scoped},
        )
    except httpx.HTTPError as exc:
        raise ApiError(
            503, "service_unavailable", "Payments cannot be taken now.", error_type="api_error"
        ) from exc
    headers = {k: v for k, v in answer.headers.items() if k.lower() == "idempotent-replayed"}
    return Response(
        answer.content, answer.status_code, headers=headers, media_type="application/json"
    )
