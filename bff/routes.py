"""The public API under /v1. Each route checks who asks (authentication and rate limit),
then calls the BFF's application layer (`bff.services`), which calls the owning service."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent

from bff.auth import (
    CurrentUser,
    issue_token,
    signin_failed,
    signin_succeeded,
    signin_throttled,
    verify_password,
)
from bff.catalog_cache import Upstream
from bff.errors import ApiError
from bff.idempotency import Lease, idempotent
from bff.services import account, cart, catalog, checkout, orders
from bff.services.checkout import safe_for_person
from bff.shedding import shed_if_behind
from bff.tables import users
from bff.upstream import call
from commerce.checkout.waiting import MAX_WAIT_SECONDS
from commerce.contracts.values import ID_PATTERN
from commerce.platform.service import RuntimeDep
from shopapi.schemas import (
    AddressUpdate,
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
    PromotionsPublic,
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
    signin_succeeded(runtime, account)
    return TokenPublic(
        access_token=issue_token(runtime, user["user_id"]), expires_in=3600, user_id=user["user_id"]
    )


@router.get("/me", operation_id="auth-me", response_model=UserPublic, tags=["auth"])
async def me(runtime: RuntimeDep, user: CurrentUser) -> UserPublic:
    return await account.profile(runtime, user)


@router.put("/me/address", operation_id="auth-me-address", response_model=UserPublic, tags=["auth"])
async def set_address(runtime: RuntimeDep, user: CurrentUser, body: AddressUpdate) -> UserPublic:
    """Change the person's home address (where checkouts ship unless told otherwise); a
    field that is missing or not valid answers 422 naming it."""
    return await account.set_address(runtime, user, body)


# -- products (public) ----------------------------------------------------------------


@router.get(
    "/products", operation_id="products-search", response_model=ProductsPublic, tags=["products"]
)
async def search_products(runtime: RuntimeDep, request: Request) -> Response:
    """Search the catalog (same parameters as the catalog service: q, category, price range, sort, limit, offset, mode).

    The catalog's answer as sent: with `q`, `match` is "none" when the shop does not carry
    the thing (no items; `nearest` and `nearest_categories` instead)."""
    # One value per name (the last, as the catalog reads them): the same search in another
    # order or with a repeated name is the same cache entry.
    return _as_sent(await catalog.search(runtime, tuple(request.query_params.items())))


@router.get(
    "/products/{product_id}", operation_id="products-get", response_model=ProductPublic,
    tags=["products"],
)  # fmt: skip
async def get_product(
    runtime: RuntimeDep, product_id: Annotated[str, Path(max_length=64, pattern=ID_PATTERN)]
) -> Response:
    return _as_sent(await catalog.product(runtime, product_id))


# -- cart -------------------------------------------------------------------------------


@router.get("/cart", operation_id="cart-get", response_model=CartPublic, tags=["cart"])
async def get_cart(runtime: RuntimeDep, user: CurrentUser) -> CartPublic:
    return await cart.get(runtime, user)


@router.post("/cart/lines", operation_id="cart-add", response_model=CartPublic, tags=["cart"])
async def add_to_cart(runtime: RuntimeDep, user: CurrentUser, body: CartLineCreate) -> CartPublic:
    """Add an item; its price comes from the catalog, never from the client."""
    return await cart.add_line(runtime, user, body)


@router.put(
    "/cart/lines/{sku}", operation_id="cart-set-quantity", response_model=CartPublic, tags=["cart"]
)
async def set_quantity(
    runtime: RuntimeDep, user: CurrentUser, sku: SkuPath, body: CartLineUpdate
) -> CartPublic:
    return await cart.set_quantity(runtime, user, sku, body)


@router.delete(
    "/cart/lines/{sku}", operation_id="cart-remove", response_model=CartPublic, tags=["cart"]
)
async def remove_line(runtime: RuntimeDep, user: CurrentUser, sku: SkuPath) -> CartPublic:
    return await cart.remove_line(runtime, user, sku)


# -- coupons and checkout ---------------------------------------------------------------


@router.post(
    "/coupons/check", operation_id="coupons-check", tags=["checkout"],
    response_model=CouponCheckPublic,
)  # fmt: skip
async def check_coupon(
    runtime: RuntimeDep, user: CurrentUser, body: CouponCheckCreate
) -> CouponCheckPublic:
    """Whether a coupon would apply to these lines (prices from the catalog): unknown,
    expired, used, or below its minimum answer `applies: false` with the reason."""
    return await checkout.check_coupon(runtime, user, body)


@router.get(
    "/promotions", operation_id="promotions-list", tags=["checkout"],
    response_model=PromotionsPublic,
)  # fmt: skip
async def list_promotions(runtime: RuntimeDep) -> PromotionsPublic:
    """The promotions on offer now: those that apply by themselves, and coupons with
    their code (public, like the catalog)."""
    return await checkout.promotions(runtime)


@router.post(
    "/checkout/quote", operation_id="checkout-quote", response_model=QuotePublic, tags=["checkout"]
)
async def quote_checkout(runtime: RuntimeDep, user: CurrentUser, body: QuoteCreate) -> QuotePublic:
    """What the person will pay for their cart: lines, discount, tax, shipping, total."""
    _, lines, quoted = await checkout.quote(runtime, user, body)
    return checkout.public(lines, quoted)


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
        cart_id, lines, quoted = await checkout.quote(runtime, user, body)
        if quoted.totals.total_cents != body.expected_total_cents:
            raise checkout.price_changed(quoted.totals.total_cents)
        answer: dict[str, Any] = {
            "checkout_id": None, "status": "submitted", "totals": quoted.totals.model_dump(),
        }  # fmt: skip

        async def record(session: AsyncSession, checkout_id: uuid.UUID) -> None:
            # the key's answer is written with the checkout, so a retry finds this one
            answer["checkout_id"] = str(checkout_id)
            await lease.complete(session, 202, answer)

        await checkout.start(
            runtime, user, cart_id, lines, body.shipping_address, body.coupon_code, body.payment_token,
            quoted, source="web", claim=record,
        )  # fmt: skip
        return 202, answer

    return await idempotent(
        runtime, user, idempotency_key, "POST /v1/checkouts", body.model_dump(mode="json"),
        leased=run,
    )  # fmt: skip


@router.get(
    "/checkouts/{checkout_id}", operation_id="checkouts-get", response_model=CheckoutPublic,
    tags=["checkout"],
)  # fmt: skip
async def get_checkout(
    runtime: RuntimeDep,
    user: CurrentUser,
    checkout_id: uuid.UUID,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            allow_inf_nan=False,
            description="Wait up to this many seconds for a change: a checkout not finished "
            "is answered when its state changes or the wait ends, a finished one at once",
        ),
    ] = 0,
    until: Annotated[
        Literal["change", "finished"],
        Query(
            description="With `wait`: answer on any change of state (`change`), or only "
            "once the checkout is completed or failed (`finished`)"
        ),
    ] = "change",
) -> CheckoutPublic:
    """Where the checkout is. With `wait` (a long poll), the answer comes when the state
    changes (with `until=finished`, when the outcome is known), so a client follows a
    checkout with one request or a few instead of polling."""
    return await checkout.status(runtime, user, checkout_id, wait, until)


@router.get(
    "/checkouts/{checkout_id}/events", operation_id="checkouts-timeline",
    response_model=TimelinePublic, tags=["checkout"],
)  # fmt: skip
async def checkout_timeline(
    runtime: RuntimeDep, user: CurrentUser, checkout_id: uuid.UUID
) -> TimelinePublic:
    """The saga's timeline: its commands and events, without the payment token and with
    the contact redacted."""
    return await checkout.timeline(runtime, user, checkout_id)


# -- orders and refunds -------------------------------------------------------------------


@router.get("/orders", operation_id="orders-list", response_model=OrdersPublic, tags=["orders"])
async def list_orders(
    runtime: RuntimeDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> OrdersPublic:
    """This person's orders, newest first, as summaries (status, totals, refunded amount):
    no `lines` or `history`; `GET /v1/orders/{order_id}` has both."""
    return await orders.list_orders(runtime, user, limit, offset)


@router.get(
    "/orders/{order_id}", operation_id="orders-get", response_model=OrderPublic, tags=["orders"]
)
async def get_order(runtime: RuntimeDep, user: CurrentUser, order_id: uuid.UUID) -> OrderPublic:
    return await orders.get(runtime, user, order_id)


@router.get(
    "/orders/{order_id}/refunds", operation_id="orders-refunds", response_model=RefundsPublic,
    tags=["orders"],
)  # fmt: skip
async def order_refunds(
    runtime: RuntimeDep, user: CurrentUser, order_id: uuid.UUID
) -> RefundsPublic:
    """The refunds of one of this person's orders, newest first (status `pending`,
    `succeeded` or `failed`; a cancellation is a full refund with its own reason)."""
    return await orders.refunds(runtime, user, order_id)


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
    return await orders.refund(runtime, user, order_id, body, idempotency_key)


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
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_checkout(
    runtime: RuntimeDep, user: CurrentUser, checkout_id: uuid.UUID
) -> EventSourceResponse:
    """The saga's events as Server-Sent Events, live, ending with CheckoutCompleted or
    CheckoutFailed. The timeline so far comes first, so a late subscriber misses nothing."""
    await checkout.own(runtime, user, checkout_id)

    async def events() -> AsyncIterator[ServerSentEvent]:
        seen = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        while (left := deadline - loop.time()) > 0:
            # the orchestrator answers once the timeline has grown past `seen`, woken by
            # its own commits (docs/adr/0038), or after the wait with what it has
            wait = min(STREAM_WAIT_SECONDS, left)
            try:
                timeline = await call(
                    runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}/events",
                    params={"after": seen, "wait": wait},
                    timeout=wait + runtime.settings.http_timeout_seconds,
                )  # fmt: skip
            except ApiError as exc:
                timeline = {"events": []}  # not picked up within the wait, or away
                if exc.status != 404:  # away: answered at once, so try again in a while
                    await asyncio.sleep(min(STREAM_RETRY_SECONDS, max(left, 0)))
            for entry in timeline["events"][seen:]:
                seen += 1
                data = json.dumps(safe_for_person(entry), default=str)
                yield ServerSentEvent(data=data, event=entry["type"], id=str(seen), sep=SSE_SEP)
                if entry["type"] in ("CheckoutCompleted", "CheckoutFailed"):
                    return
            yield keep_alive()

    # the library's own timed ping is the same comment as the per-poll keep-alive
    return EventSourceResponse(
        events(),
        headers={"Cache-Control": "no-store"},
        sep=SSE_SEP,
        ping_message_factory=keep_alive,
    )


SSE_SEP = "\n"  # lines end in a bare newline (the library's default is CRLF)


def keep_alive() -> ServerSentEvent:
    return ServerSentEvent(comment="keep-alive", sep=SSE_SEP)


STREAM_SECONDS = 300.0
STREAM_WAIT_SECONDS = 10.0  # one wait at the orchestrator; a keep-alive follows each
STREAM_RETRY_SECONDS = 1.0  # the orchestrator away: ask again after this
