"""The public API under /v1. Each route checks who asks, then calls the owning service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bff.auth import (
    CurrentUser,
    issue_token,
    signin_failed,
    signin_succeeded,
    signin_throttled,
    verify_password,
)
from bff.catalog_cache import CatalogCacheSettings, ReadCache, Upstream
from bff.errors import ApiError, not_found
from bff.idempotency import Lease, idempotent
from bff.shedding import shed_if_behind
from bff.tables import addresses, checkouts, users
from commerce import pricing
from commerce.contracts.checkout import InitiateCheckoutCommand
from commerce.contracts.values import (
    ID_PATTERN,
    MAX_CHECKOUT_LINES,
    Address,
    CheckoutLine,
    Contact,
)
from commerce.platform.service import RuntimeDep, ServiceRuntime
from shopapi.client import seg  # client text never changes the backend path
from shopapi.schemas import (
    CartLineCreate,
    CartLineUpdate,
    CartPublic,
    CheckoutAcceptedPublic,
    CheckoutCreate,
    CheckoutPublic,
    CouponCheckCreate,
    CouponCheckPublic,
    ErrorPublic,
    NotificationsPublic,
    OrderPublic,
    OrdersPublic,
    ProductPublic,
    ProductsPublic,
    QuoteCreate,
    QuotePublic,
    RefundCreate,
    RefundPublic,
    RefundsPublic,
    TimelinePublic,
    TokenCreate,
    TokenPublic,
    UserPublic,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "The body is not JSON"},
    401: {"model": ErrorPublic, "description": "Not signed in, or the token expired"},
    404: {"model": ErrorPublic, "description": "No such resource (or not this person's)"},
    409: {"model": ErrorPublic, "description": "The request conflicts with the current state"},
    413: {"model": ErrorPublic, "description": "The body is too large"},
    422: {"model": ErrorPublic, "description": "The request is invalid, with the reason"},
    429: {"model": ErrorPublic, "description": "Too many requests; see Retry-After"},
    503: {"model": ErrorPublic, "description": "A service behind the API is away or overloaded"},
}
router = APIRouter(prefix="/v1", responses=ERRORS)
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x20-\x7E]+$"),
]
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


def _unavailable(service: str) -> ApiError:
    return ApiError(
        503,
        "service_unavailable",
        f"The {service} service is not answering; try again shortly.",
        error_type="api_error",
    )


def _refusal(service: str, path: str, status: int, body: Callable[[], Any]) -> ApiError | None:
    """The error a backend's answer becomes (None for a success): its 404 stays a 404,
    its 409 and 422 keep their reason, any other failure is a 503."""
    if status == 404:
        return not_found(path.strip("/").split("/")[0].rstrip("s") or "resource")
    if status in (409, 422):
        detail = body().get("detail")
        message = detail.get("message") if isinstance(detail, dict) else str(detail)
        code = detail.get("code", "rejected") if isinstance(detail, dict) else "rejected"
        return ApiError(status, code, str(message))
    if 300 <= status < 400:  # e.g. a trailing `/` (an escaped one, too): no such resource
        return not_found(path.strip("/").split("/")[0].rstrip("s") or "resource")
    if status >= 400:
        return ApiError(
            503,
            "service_error",
            f"The {service} service failed ({status}).",
            error_type="api_error",
        )
    return None


async def call(runtime: ServiceRuntime, service: str, method: str, path: str, **kwargs: Any) -> Any:
    """A request to a backend service; its 404 stays a 404, its being away becomes a 503."""
    try:
        response = await runtime.http.request(method, f"{runtime.url_of(service)}{path}", **kwargs)
    except httpx.HTTPError as exc:
        raise _unavailable(service) from exc
    refusal = _refusal(service, path, response.status_code, response.json)
    if refusal is not None:
        raise refusal
    return response.json()


def catalog_cache(runtime: ServiceRuntime) -> ReadCache:
    """The BFF's cache of catalog answers (one per BFF runtime, made on first use)."""
    cache = runtime.state.get("catalog_cache")
    if cache is None:
        settings = CatalogCacheSettings()
        lookups = Counter(
            "agentshop_bff_catalog_cache_lookups",
            "Catalog reads through the BFF's cache, by outcome (hit, miss, shared)",
            ["outcome"],
            registry=runtime.metrics.registry,
        )
        outcomes = {outcome: lookups.labels(outcome) for outcome in ("hit", "miss", "shared")}
        cache = runtime.state["catalog_cache"] = ReadCache(
            settings.catalog_cache_seconds,
            settings.catalog_cache_mb * 1_000_000,
            count=lambda outcome: outcomes[outcome].inc(),
        )
    assert isinstance(cache, ReadCache)
    return cache


async def catalog_get(
    runtime: ServiceRuntime, path: str, params: tuple[tuple[str, str], ...] = ()
) -> Upstream:
    """A GET of the catalog through the BFF's read cache, its errors answered as `call`
    answers them. `.body` is the catalog's JSON as sent, `.json` the same parsed."""
    url = f"{runtime.url_of('catalog')}{path}"

    async def fetch(asked_at: float) -> Upstream:
        response = await runtime.http.get(url, params=params)
        key_size = len(path) + sum(len(k) + len(v) for k, v in params)
        return Upstream(response.status_code, response.content, asked_at, key_size)

    try:
        answer = await catalog_cache(runtime).get((path, params), fetch)
    except httpx.HTTPError as exc:
        raise _unavailable("catalog") from exc
    refusal = _refusal("catalog", path, answer.status, lambda: answer.json)
    if refusal is not None:
        raise refusal
    return answer


def _as_sent(answer: Upstream) -> Response:
    return Response(answer.body, status_code=answer.status, media_type="application/json")


# -- auth -----------------------------------------------------------------------------


@router.post("/auth/token", operation_id="auth-token", response_model=TokenPublic, tags=["auth"])
async def sign_in(runtime: RuntimeDep, body: TokenCreate, request: Request) -> TokenPublic:
    """Sign in with email and password; returns a bearer token. Too many failures for one
    account or from one address answer 429 with `Retry-After` (docs/adr/0022)."""
    account = body.email.lower()
    address = request.client.host if request.client else "unknown"
    throttled = signin_throttled(runtime, account, address)
    if throttled is not None:
        raise throttled
    async with runtime.db.sessions() as session:
        user = (
            (await session.execute(select(users).where(users.c.email == account)))
            .mappings()
            .first()
        )
    # Argon2 is meant to be slow: verify off the event loop so other requests keep flowing;
    # an unknown account is verified against a dummy hash, so it takes as long.
    known_hash = user["password_hash"] if user is not None else None
    if not await asyncio.to_thread(verify_password, body.password, known_hash) or user is None:
        signin_failed(runtime, account, address)
        raise ApiError(
            401, "invalid_credentials", "Wrong email or password.", error_type="authentication"
        )
    signin_succeeded(account)
    return TokenPublic(
        access_token=issue_token(runtime, user["user_id"]), expires_in=3600, user_id=user["user_id"]
    )


@router.get("/me", operation_id="auth-me", response_model=UserPublic, tags=["auth"])
async def me(runtime: RuntimeDep, user: CurrentUser) -> UserPublic:
    async with runtime.db.sessions() as session:
        row = (
            (
                await session.execute(
                    select(users.c.user_id, users.c.email, users.c.name, users.c.phone).where(
                        users.c.user_id == user
                    )
                )
            )
            .mappings()
            .first()
        )
        home = await session.scalar(select(addresses.c.address).where(addresses.c.user_id == user))
    if row is None:
        raise not_found("user")
    return UserPublic.model_validate({**row, "address": home})


# -- products (public) ----------------------------------------------------------------


@router.get(
    "/products", operation_id="products-search", response_model=ProductsPublic, tags=["products"]
)
async def search_products(runtime: RuntimeDep, request: Request) -> Response:
    """Search the catalog (same parameters as the catalog service: q, category, price range, sort, limit, offset, mode).

    The catalog's answer as sent: with `q`, `match` is "none" when the shop does not carry
    the thing (no items; `nearest` and `nearest_categories` instead)."""
    # One value per name (the last, as the catalog reads them), in name order: the same
    # search in another order or with a repeated name is the same cache entry.
    params = tuple(sorted(request.query_params.items()))
    return _as_sent(await catalog_get(runtime, "/products", params))


@router.get(
    "/products/{product_id}", operation_id="products-get", response_model=ProductPublic,
    tags=["products"],
)  # fmt: skip
async def get_product(
    runtime: RuntimeDep, product_id: Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
) -> Response:
    return _as_sent(await catalog_get(runtime, f"/products/{seg(product_id)}"))


# -- cart -------------------------------------------------------------------------------


@router.get("/cart", operation_id="cart-get", response_model=CartPublic, tags=["cart"])
async def get_cart(runtime: RuntimeDep, user: CurrentUser) -> CartPublic:
    return CartPublic.model_validate(await call(runtime, "cart", "GET", f"/carts/{seg(user)}"))


@router.post("/cart/lines", operation_id="cart-add", response_model=CartPublic, tags=["cart"])
async def add_to_cart(runtime: RuntimeDep, user: CurrentUser, body: CartLineCreate) -> CartPublic:
    """Add an item; its price comes from the catalog, never from the client."""
    sku = (await catalog_get(runtime, f"/skus/{seg(body.sku)}")).json
    line = {
        "sku": sku["sku"], "product_id": sku["product_id"], "name": sku["name"], "quantity": body.quantity,
        "unit_price_cents": sku["price_cents"], "currency": sku["currency"], "category": sku["category"],
        "tax_class": sku["tax_class"],
    }  # fmt: skip
    return CartPublic.model_validate(
        await call(runtime, "cart", "POST", f"/carts/{seg(user)}/lines", json=line)
    )


@router.put(
    "/cart/lines/{sku}", operation_id="cart-set-quantity", response_model=CartPublic, tags=["cart"]
)
async def set_quantity(
    runtime: RuntimeDep, user: CurrentUser, sku: SkuPath, body: CartLineUpdate
) -> CartPublic:
    return CartPublic.model_validate(
        await call(
            runtime, "cart", "PUT", f"/carts/{seg(user)}/lines/{seg(sku)}", json=body.model_dump()
        )
    )


@router.delete(
    "/cart/lines/{sku}", operation_id="cart-remove", response_model=CartPublic, tags=["cart"]
)
async def remove_line(runtime: RuntimeDep, user: CurrentUser, sku: SkuPath) -> CartPublic:
    return CartPublic.model_validate(
        await call(runtime, "cart", "DELETE", f"/carts/{seg(user)}/lines/{seg(sku)}")
    )


# -- coupons ----------------------------------------------------------------------------


@router.post(
    "/coupons/check", operation_id="coupons-check", tags=["checkout"],
    response_model=CouponCheckPublic,
)  # fmt: skip
async def check_coupon(
    runtime: RuntimeDep, user: CurrentUser, body: CouponCheckCreate
) -> CouponCheckPublic:
    """Whether a coupon would apply to these lines (prices from the catalog): unknown,
    expired, used, or below its minimum answer `applies: false` with the reason."""
    wanted: dict[str, int] = {}
    for li in body.lines:
        wanted[li.sku] = wanted.get(li.sku, 0) + li.quantity
    found = await asyncio.gather(*(catalog_get(runtime, f"/skus/{seg(sku)}") for sku in wanted))
    skus = [answer.json for answer in found]
    request = {
        "user_id": user, "currency": "USD", "coupon_code": body.code,
        "lines": [
            {"sku": s["sku"], "product_id": s["product_id"], "category": s["category"],
             "quantity": wanted[s["sku"]], "unit_price_cents": s["price_cents"]}
            for s in skus
        ],
    }  # fmt: skip
    url = f"{runtime.url_of('discount-engine')}/calculate-discounts"
    try:
        response = await runtime.http.post(url, json=request)
    except httpx.HTTPError as exc:
        raise ApiError(
            503, "service_unavailable", "Coupons cannot be checked right now; try again shortly.",
            error_type="api_error",
        ) from exc  # fmt: skip
    detail = response.json().get("detail") if response.status_code == 422 else None
    if isinstance(detail, dict) and detail.get("code") == "coupon_invalid":
        return CouponCheckPublic(
            code=body.code.upper(), applies=False, reason=str(detail["message"])
        )
    if response.status_code == 422:  # e.g. more than 1000 of one SKU once lines are merged
        raise ApiError(422, "invalid_lines", "These lines cannot be priced.", param="lines")
    if response.status_code >= 400:
        raise ApiError(
            503, "service_error", f"The discount-engine service failed ({response.status_code}).",
            error_type="api_error",
        )  # fmt: skip
    found = response.json()
    mine = [a for a in found["applied"] if (a.get("code") or "").upper() == body.code.upper()]
    return CouponCheckPublic(
        code=body.code.upper(), applies=True,
        discount_cents=sum(int(a["discount_cents"]) for a in mine),
    )  # fmt: skip


# -- checkout ---------------------------------------------------------------------------


async def _cart_lines(runtime: ServiceRuntime, user: str) -> tuple[str, list[CheckoutLine]]:
    cart = await call(runtime, "cart", "GET", f"/carts/{seg(user)}")
    if not cart["lines"]:
        raise ApiError(422, "cart_empty", "The cart is empty.")
    if len(cart["lines"]) > MAX_CHECKOUT_LINES:  # a cart filled before the cart's own limit
        raise ApiError(
            422, "cart_full",
            f"A checkout holds at most {MAX_CHECKOUT_LINES} different items; remove some first.",
        )  # fmt: skip
    lines = [
        CheckoutLine(sku=li["sku"], product_id=li["product_id"], name=li["name"], quantity=li["quantity"],
                     unit_price_cents=li["unit_price_cents"], tax_class=li["tax_class"], category=li["category"])
        for li in cart["lines"]
    ]  # fmt: skip
    return str(cart["cart_id"]), lines


async def _quote(
    runtime: ServiceRuntime, user: str, body: QuoteCreate
) -> tuple[str, list[CheckoutLine], pricing.Quote]:
    cart_id, lines = await _cart_lines(runtime, user)
    try:
        quoted = await pricing.quote(
            runtime.http, runtime.settings, user_id=user, lines=lines,
            shipping_address=body.shipping_address, coupon_code=body.coupon_code,
        )  # fmt: skip
    except pricing.CouponInvalid as exc:
        raise ApiError(422, "coupon_invalid", str(exc), param="coupon_code") from exc
    except pricing.AddressUnsupported as exc:
        raise ApiError(422, "unsupported_address", str(exc), param="shipping_address") from exc
    except pricing.PricingUnavailable as exc:
        raise ApiError(
            503,
            "service_unavailable",
            "Prices cannot be calculated right now; try again shortly.",
            error_type="api_error",
        ) from exc
    except pricing.PricingError as exc:  # a request the pricing services refused
        raise ApiError(422, "pricing_rejected", f"The cart cannot be priced: {exc}") from exc
    return cart_id, lines, quoted


@router.post(
    "/checkout/quote", operation_id="checkout-quote", response_model=QuotePublic, tags=["checkout"]
)
async def quote_checkout(runtime: RuntimeDep, user: CurrentUser, body: QuoteCreate) -> QuotePublic:
    """What the person will pay for their cart: lines, discount, tax, shipping, total."""
    _, lines, quoted = await _quote(runtime, user, body)
    return QuotePublic.model_validate({
        "lines": [{**line.model_dump(), "discount_cents": q.discount_cents, "tax_cents": q.tax_cents} for line, q in zip(lines, quoted.lines, strict=True)],
        "totals": quoted.totals.model_dump(), "applied": quoted.applied, "jurisdiction": quoted.jurisdiction,
        "expires_at": (datetime.now(UTC) + timedelta(minutes=15)).isoformat(),
    })  # fmt: skip


@router.post(
    "/checkouts", operation_id="checkouts-create", status_code=202,
    response_model=CheckoutAcceptedPublic, tags=["checkout"],
)  # fmt: skip
async def create_checkout(
    runtime: RuntimeDep,
    user: CurrentUser,
    body: CheckoutCreate,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Start a checkout of the cart at the approved total. Answers 202 at once; follow
    `GET /v1/checkouts/{id}`. A changed total answers 409 `price_changed` instead."""

    async def run(lease: Lease) -> tuple[int, Any]:
        await shed_if_behind(runtime)  # before the quote's work
        cart_id, lines, quoted = await _quote(runtime, user, body)
        if quoted.totals.total_cents != body.expected_total_cents:
            raise ApiError(
                409,
                "price_changed",
                f"The total is now {quoted.totals.total_cents / 100:.2f}; please review the new quote.",
                param="expected_total_cents",
            )
        answer: dict[str, Any] = {
            "checkout_id": None, "status": "submitted", "totals": quoted.totals.model_dump(),
        }  # fmt: skip

        async def record(session: AsyncSession, checkout_id: uuid.UUID) -> None:
            # the key's answer is written with the checkout, so a retry finds this one
            answer["checkout_id"] = str(checkout_id)
            await lease.complete(session, 202, answer)

        await start_checkout(
            runtime, user, cart_id, lines, body.shipping_address, body.coupon_code, body.payment_token,
            quoted, source="web", claim=record,
        )  # fmt: skip
        return 202, answer

    return await idempotent(
        runtime, user, idempotency_key, "POST /v1/checkouts", body.model_dump(mode="json"),
        leased=run,
    )  # fmt: skip


async def start_checkout(
    runtime: ServiceRuntime, user: str, cart_id: str | None, lines: list[CheckoutLine], address: Address,
    coupon: str | None, payment_token: str, quoted: pricing.Quote, *,
    source: Literal["web", "assistant", "agent", "cli", "load-test"],
    claim: Callable[[AsyncSession, uuid.UUID], Awaitable[None]] | None = None,
    checkout_id: uuid.UUID | None = None,
) -> uuid.UUID:  # fmt: skip
    """Publish InitiateCheckoutCommand (through the outbox) with the approved quote.

    `claim` runs in the same transaction before the command is written; raising there
    (e.g. the session was already paid by a concurrent request) publishes nothing.
    """
    if len(lines) > MAX_CHECKOUT_LINES:  # every way in (web, assistant, ACP) stops here
        raise ApiError(
            422, "cart_full",
            f"A checkout holds at most {MAX_CHECKOUT_LINES} different items; remove some first.",
            param="line_items" if source == "agent" else None,
        )  # fmt: skip
    await shed_if_behind(runtime)  # every way in: web, assistant, agents (read once a second)
    checkout_id = checkout_id or uuid.uuid4()
    async with runtime.db.transaction() as session:  # one round trip fewer than its own session
        person = (
            (
                await session.execute(
                    select(users.c.email, users.c.phone).where(users.c.user_id == user)
                )
            )
            .mappings()
            .first()
        )
        command = InitiateCheckoutCommand(
            checkout_id=checkout_id, user_id=user, cart_id=cart_id, lines=lines, shipping_address=address,
            contact=Contact(email=person["email"] if person else None, phone=person["phone"] if person else None),
            payment_token=payment_token, coupon_code=coupon, quote=quoted.totals, source=source,
        )  # fmt: skip
        await session.execute(
            insert(checkouts).values(
                checkout_id=str(checkout_id), user_id=user, total_cents=quoted.totals.total_cents
            )
        )
        if claim is not None:
            await claim(session, checkout_id)
        await runtime.outbox.add(session, command, correlation_id=str(checkout_id))
    return checkout_id


async def _own_checkout(runtime: ServiceRuntime, user: str, checkout_id: uuid.UUID) -> None:
    async with runtime.db.sessions() as session:
        owner = await session.scalar(
            select(checkouts.c.user_id).where(checkouts.c.checkout_id == str(checkout_id))
        )
    if owner != user:
        raise not_found("checkout")


@router.get(
    "/checkouts/{checkout_id}", operation_id="checkouts-get", response_model=CheckoutPublic,
    tags=["checkout"],
)  # fmt: skip
async def get_checkout(
    runtime: RuntimeDep, user: CurrentUser, checkout_id: uuid.UUID
) -> CheckoutPublic:
    await _own_checkout(runtime, user, checkout_id)
    try:
        return CheckoutPublic.model_validate(
            await call(runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}")
        )
    except ApiError as exc:
        if exc.status == 404:  # published, not yet picked up
            return CheckoutPublic(checkout_id=checkout_id, state="submitted")
        raise


SECRET_FIELDS = frozenset({"payment_token", "token"})


def redact_email(email: str) -> str:
    name, at, domain = email.partition("@")
    return f"{name[:1]}***{at}{domain}" if at else "***"


def redact_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    return "***" + "".join(digits[-2:])


def safe_for_person(value: Any) -> Any:
    """A saga timeline entry as its person may see it: no payment token anywhere, the
    contact and notification recipients redacted (`a***@example.com`, `***67`); the
    orchestrator keeps the whole."""
    if isinstance(value, list):
        return [safe_for_person(v) for v in value]
    if not isinstance(value, dict):
        return value
    safe: dict[str, Any] = {}
    for key, item in value.items():
        if key in SECRET_FIELDS:
            continue
        if key == "recipient" and isinstance(item, str):  # a notification's e-mail or phone
            safe[key] = redact_email(item) if "@" in item else redact_phone(item)
        elif key == "contact" and isinstance(item, dict):
            safe[key] = {
                "email": redact_email(item["email"]) if item.get("email") else None,
                "phone": redact_phone(item["phone"]) if item.get("phone") else None,
            }
        else:
            safe[key] = safe_for_person(item)
    return safe


@router.get(
    "/checkouts/{checkout_id}/events", operation_id="checkouts-timeline",
    response_model=TimelinePublic, tags=["checkout"],
)  # fmt: skip
async def checkout_timeline(
    runtime: RuntimeDep, user: CurrentUser, checkout_id: uuid.UUID
) -> TimelinePublic:
    """The saga's timeline: its commands and events, without the payment token and with
    the contact redacted."""
    await _own_checkout(runtime, user, checkout_id)
    return TimelinePublic.model_validate(
        safe_for_person(
            await call(runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}/events")
        )
    )


# -- orders and refunds -------------------------------------------------------------------


async def _own_order(runtime: ServiceRuntime, user: str, order_id: uuid.UUID) -> OrderPublic:
    order = OrderPublic.model_validate(await call(runtime, "order", "GET", f"/orders/{order_id}"))
    if order.user_id != user:
        raise not_found("order")
    return order


@router.get("/orders", operation_id="orders-list", response_model=OrdersPublic, tags=["orders"])
async def list_orders(
    runtime: RuntimeDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> OrdersPublic:
    """This person's orders, newest first, as summaries (status, totals, refunded amount):
    no `lines` or `history`; `GET /v1/orders/{order_id}` has both."""
    return OrdersPublic.model_validate(
        await call(
            runtime,
            "order",
            "GET",
            "/orders",
            params={"user_id": user, "limit": limit, "offset": offset},
        )
    )


@router.get(
    "/orders/{order_id}", operation_id="orders-get", response_model=OrderPublic, tags=["orders"]
)
async def get_order(runtime: RuntimeDep, user: CurrentUser, order_id: uuid.UUID) -> OrderPublic:
    return await _own_order(runtime, user, order_id)


@router.get(
    "/orders/{order_id}/refunds", operation_id="orders-refunds", response_model=RefundsPublic,
    tags=["orders"],
)  # fmt: skip
async def order_refunds(
    runtime: RuntimeDep, user: CurrentUser, order_id: uuid.UUID
) -> RefundsPublic:
    """The refunds of one of this person's orders, newest first (status `pending`,
    `succeeded` or `failed`; a cancellation is a full refund with its own reason)."""
    await _own_order(runtime, user, order_id)
    return RefundsPublic.model_validate(
        await call(runtime, "refund", "GET", "/refunds", params={"order_id": str(order_id)})
    )


@router.post(
    "/orders/{order_id}/refunds", operation_id="orders-refund", status_code=202,
    response_model=RefundPublic, tags=["orders"],
)  # fmt: skip
async def request_refund(
    runtime: RuntimeDep,
    user: CurrentUser,
    order_id: uuid.UUID,
    body: RefundCreate,
    idempotency_key: IdempotencyKey = None,
) -> RefundPublic:
    await _own_order(runtime, user, order_id)
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    payload = {"order_id": str(order_id), "user_id": user, **body.model_dump(exclude_none=True)}
    return RefundPublic.model_validate(
        await call(runtime, "refund", "POST", "/issue-refund", json=payload, headers=headers)
    )


@router.get(
    "/notifications", operation_id="notifications-list", response_model=NotificationsPublic,
    tags=["notifications"],
)  # fmt: skip
async def inbox(runtime: RuntimeDep, user: CurrentUser) -> NotificationsPublic:
    """The emails, texts and push messages the shop sent this person, newest first."""
    items: list[Any] = []
    for service in ("email-service", "sms-service", "push-service"):
        try:
            found = await call(runtime, service, "GET", "/notifications", params={"user_id": user})
        except ApiError:
            continue  # one channel away does not hide the others
        items += [{**n, "channel": service.split("-")[0]} for n in found["items"]]
    items.sort(key=lambda n: n["created_at"], reverse=True)
    return NotificationsPublic.model_validate({"items": items})


@router.get(
    "/checkouts/{checkout_id}/stream",
    operation_id="checkouts-stream",
    tags=["checkout"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_checkout(
    runtime: RuntimeDep, user: CurrentUser, checkout_id: uuid.UUID
) -> StreamingResponse:
    """The saga's events as Server-Sent Events, live, ending with CheckoutCompleted or
    CheckoutFailed. The timeline so far comes first, so a late subscriber misses nothing."""
    await _own_checkout(runtime, user, checkout_id)

    async def events() -> AsyncIterator[str]:
        seen = 0
        deadline = asyncio.get_running_loop().time() + STREAM_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            try:
                timeline = await call(
                    runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}/events"
                )
            except ApiError:
                timeline = {"events": []}  # not picked up yet, or the orchestrator is away
            for entry in timeline["events"][seen:]:
                seen += 1
                data = json.dumps(safe_for_person(entry), default=str)
                yield f"id: {seen}\nevent: {entry['type']}\ndata: {data}\n\n"
                if entry["type"] in ("CheckoutCompleted", "CheckoutFailed"):
                    return
            yield ": keep-alive\n\n"
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


STREAM_SECONDS = 300.0
STREAM_POLL_SECONDS = 0.1
