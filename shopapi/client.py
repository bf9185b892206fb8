"""The one client of the BFF's public API (`/v1`), typed by the API's own models.

Each operation is a function that describes one request and the model of its answer
(a `Call`); a transport sends it. Two transports live here: `Client` (synchronous, for
the web UI and the terminal chat) and `AsyncClient` (for the evals, the MCP server and
the load tests' sign-in and chaos shoppers); the Locust scenarios send the same `Call`s
through Locust's own HTTP client, so Locust times them (`loadtests/shop.py`). The answers are parsed with `shopapi.schemas`, the models the
routes declare, so a client and the server cannot disagree on a field without a type
error or a failing test (docs/adr/0033). A refusal becomes `ShopError` with the API's
status, code, message and param.

The module imports neither FastAPI nor the database: only httpx, pydantic and the
schemas.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from commerce.contracts.values import FINAL_STATES
from shopapi.schemas import (
    AssistantTurnPublic,
    CartPublic,
    CheckoutAcceptedPublic,
    CheckoutPublic,
    ConversationPublic,
    ConversationsPublic,
    CouponCheckPublic,
    NotificationsPublic,
    OrderPublic,
    OrdersPublic,
    ProductPublic,
    ProductsPublic,
    PromotionsPublic,
    QuotePublic,
    RefundPublic,
    RefundsPublic,
    TimelineEntryPublic,
    TimelinePublic,
    TokenPublic,
    UserPublic,
)

M = TypeVar("M", bound=BaseModel)


def seg(value: str) -> str:
    """One path segment, percent-encoded (`/`, `?`, `#` and dots stay inside it)."""
    if value in (".", ".."):
        return "%2E" * len(value)
    return quote(value, safe="")


@dataclass(frozen=True)
class Call(Generic[M]):
    """One request of the API and the model of its successful answer."""

    method: str
    path: str
    name: str
    """The route, e.g. `GET /v1/cart/lines/{sku}`: a label for logs and load-test stats."""
    answer: type[M]
    json: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    """Seconds to wait for the answer, when longer than the transport's own (a long poll)."""

    def parse(self, body: Any) -> M:
        return self.answer.model_validate(body)


class ShopError(Exception):
    """The API refused a request (or could not be reached: status 0)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after


def error_of(status: int, body: bytes, headers: Mapping[str, str]) -> ShopError:
    """The API's error shape (`{"error": {...}}`) as a ShopError; a body in another shape
    (a proxy's page, say) keeps only the status."""
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        error = {}
    return ShopError(
        status,
        str(error.get("code") or ""),
        str(error.get("message") or ""),
        param=error.get("param"),
        retry_after=headers.get("retry-after"),
    )


# -- the operations ---------------------------------------------------------------------


def sign_in(email: str, password: str) -> Call[TokenPublic]:
    body = {"email": email, "password": password}
    return Call("POST", "/v1/auth/token", "POST /v1/auth/token", TokenPublic, json=body)


def me() -> Call[UserPublic]:
    return Call("GET", "/v1/me", "GET /v1/me", UserPublic)


def set_address(address: Mapping[str, Any]) -> Call[UserPublic]:
    """Change the home address (an `AddressUpdate`); the profile with it."""
    return Call("PUT", "/v1/me/address", "PUT /v1/me/address", UserPublic, json=dict(address))


def search(
    q: str | None = None,
    *,
    category: str | None = None,
    sort: str | None = None,
    max_price_cents: int | None = None,
    limit: int | None = None,
    offset: int | None = None,
) -> Call[ProductsPublic]:
    """One page of the catalog's search (no sign-in needed); unset filters are not sent."""
    given = {
        "q": q, "category": category, "sort": sort, "max_price_cents": max_price_cents,
        "limit": limit, "offset": offset,
    }  # fmt: skip
    params = {k: v for k, v in given.items() if v is not None}
    return Call("GET", "/v1/products", "GET /v1/products", ProductsPublic, params=params)


def product(product_id: str) -> Call[ProductPublic]:
    path = f"/v1/products/{seg(product_id)}"
    return Call("GET", path, "GET /v1/products/{id}", ProductPublic)


def cart() -> Call[CartPublic]:
    return Call("GET", "/v1/cart", "GET /v1/cart", CartPublic)


def add_line(sku: str, quantity: int = 1) -> Call[CartPublic]:
    body = {"sku": sku, "quantity": quantity}
    return Call("POST", "/v1/cart/lines", "POST /v1/cart/lines", CartPublic, json=body)


def set_quantity(sku: str, quantity: int) -> Call[CartPublic]:
    path = f"/v1/cart/lines/{seg(sku)}"
    body = {"quantity": quantity}
    return Call("PUT", path, "PUT /v1/cart/lines/{sku}", CartPublic, json=body)


def remove_line(sku: str) -> Call[CartPublic]:
    path = f"/v1/cart/lines/{seg(sku)}"
    return Call("DELETE", path, "DELETE /v1/cart/lines/{sku}", CartPublic)


def check_coupon(code: str, lines: Sequence[tuple[str, int]]) -> Call[CouponCheckPublic]:
    body = {"code": code, "lines": [{"sku": sku, "quantity": q} for sku, q in lines]}
    return Call("POST", "/v1/coupons/check", "POST /v1/coupons/check", CouponCheckPublic, json=body)


def promotions() -> Call[PromotionsPublic]:
    return Call("GET", "/v1/promotions", "GET /v1/promotions", PromotionsPublic)


def quote_cart(address: Mapping[str, Any], coupon: str | None = None) -> Call[QuotePublic]:
    body: dict[str, Any] = {"shipping_address": dict(address)}
    if coupon:
        body["coupon_code"] = coupon
    return Call("POST", "/v1/checkout/quote", "POST /v1/checkout/quote", QuotePublic, json=body)


def start_checkout(
    address: Mapping[str, Any],
    payment_token: str,
    expected_total_cents: int,
    *,
    coupon: str | None = None,
    idempotency_key: str | None = None,
) -> Call[CheckoutAcceptedPublic]:
    """Start a checkout of the cart at the quoted total (202; 409 `price_changed` when the
    total moved)."""
    body: dict[str, Any] = {
        "shipping_address": dict(address),
        "payment_token": payment_token,
        "expected_total_cents": expected_total_cents,
    }
    if coupon:
        body["coupon_code"] = coupon
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return Call(
        "POST", "/v1/checkouts", "POST /v1/checkouts", CheckoutAcceptedPublic,
        json=body, headers=headers,
    )  # fmt: skip


MAX_WAIT_SECONDS = 30.0
"""The longest `wait` the API takes on `GET /v1/checkouts/{id}` (longer: 422)."""
OUTCOME_WAIT_SECONDS = 25.0
"""One long poll of `wait_for_outcome`, under the API's limit."""
_ANSWER_MARGIN_SECONDS = 10.0  # a long poll's answer may come this long after its wait


LONG_POLL_NAME = "GET /v1/checkouts/{id}?wait"
"""The route name of the long poll: its time is the saga's, not a read's (load reports keep
it out of the reads' latency)."""


def checkout(
    checkout_id: str, wait: float = 0, until: Literal["change", "finished"] = "change"
) -> Call[CheckoutPublic]:
    """The checkout's state. With `wait` (seconds, at most `MAX_WAIT_SECONDS`) a long
    poll: a checkout not finished is answered when its state changes (`until="finished"`:
    once it is completed or failed) or the wait ends."""
    path = f"/v1/checkouts/{seg(checkout_id)}"
    if wait <= 0:
        return Call("GET", path, "GET /v1/checkouts/{id}", CheckoutPublic)
    return Call(
        "GET", path, LONG_POLL_NAME, CheckoutPublic,
        params={"wait": round(min(wait, MAX_WAIT_SECONDS), 3), "until": until},
        timeout=wait + _ANSWER_MARGIN_SECONDS,
    )  # fmt: skip


def finished(status: CheckoutPublic) -> bool:
    """Whether the checkout has its outcome (`completed` or `failed`)."""
    return status.state in FINAL_STATES


class _Deadline:
    """How much of `within` seconds is left, for the long polls of `wait_for_outcome`."""

    def __init__(self, within: float) -> None:
        self.end = time.monotonic() + within

    def next_wait(self) -> float:
        """The next long poll's wait (0 once the time is up: one last plain read)."""
        return max(min(self.end - time.monotonic(), OUTCOME_WAIT_SECONDS), 0.0)


def timeline(checkout_id: str) -> Call[TimelinePublic]:
    path = f"/v1/checkouts/{seg(checkout_id)}/events"
    return Call("GET", path, "GET /v1/checkouts/{id}/events", TimelinePublic)


def orders(limit: int = 20, offset: int = 0) -> Call[OrdersPublic]:
    params = {"limit": limit, "offset": offset}
    return Call("GET", "/v1/orders", "GET /v1/orders", OrdersPublic, params=params)


def order(order_id: str) -> Call[OrderPublic]:
    return Call("GET", f"/v1/orders/{seg(order_id)}", "GET /v1/orders/{id}", OrderPublic)


def refunds(order_id: str) -> Call[RefundsPublic]:
    path = f"/v1/orders/{seg(order_id)}/refunds"
    return Call("GET", path, "GET /v1/orders/{id}/refunds", RefundsPublic)


def refund(
    order_id: str,
    reason: str,
    *,
    amount_cents: int | None = None,
    lines: Sequence[Mapping[str, Any]] | None = None,
    idempotency_key: str | None = None,
    cancels_order: bool = False,
) -> Call[RefundPublic]:
    """Refund lines, an amount, or (neither) the whole order; `cancels_order` cancels it
    (all that is left comes back, and its stock returns to the shelf)."""
    body: dict[str, Any] = {"reason": reason}
    if cancels_order:
        body["cancels_order"] = True
    elif lines:
        body["lines"] = [dict(line) for line in lines]
    elif amount_cents is not None:
        body["amount_cents"] = amount_cents
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    path = f"/v1/orders/{seg(order_id)}/refunds"
    return Call(
        "POST", path, "POST /v1/orders/{id}/refunds", RefundPublic, json=body, headers=headers
    )


def notifications() -> Call[NotificationsPublic]:
    return Call("GET", "/v1/notifications", "GET /v1/notifications", NotificationsPublic)


def send_message(conversation_id: str | None, text: str) -> Call[AssistantTurnPublic]:
    body = {"conversation_id": conversation_id, "text": text}
    return Call(
        "POST", "/v1/assistant/messages", "POST /v1/assistant/messages", AssistantTurnPublic,
        json=body,
    )  # fmt: skip


def confirm(
    conversation_id: str, approve: bool, expected_total_cents: int | None = None
) -> Call[AssistantTurnPublic]:
    """Approve or decline what awaits approval; with `expected_total_cents`, only the
    total the person saw is approved (another answers 409 `pending_changed`)."""
    body: dict[str, Any] = {"approve": approve}
    if expected_total_cents is not None:
        body["expected_total_cents"] = expected_total_cents
    path = f"/v1/assistant/conversations/{seg(conversation_id)}/confirm"
    return Call(
        "POST", path, "POST /v1/assistant/conversations/{id}/confirm", AssistantTurnPublic,
        json=body,
    )  # fmt: skip


def conversations() -> Call[ConversationsPublic]:
    return Call(
        "GET", "/v1/assistant/conversations", "GET /v1/assistant/conversations",
        ConversationsPublic,
    )  # fmt: skip


def conversation(conversation_id: str) -> Call[ConversationPublic]:
    path = f"/v1/assistant/conversations/{seg(conversation_id)}"
    return Call("GET", path, "GET /v1/assistant/conversations/{id}", ConversationPublic)


def _stream_path(checkout_id: str) -> str:
    return f"/v1/checkouts/{seg(checkout_id)}/stream"


def _entry(line: str) -> TimelineEntryPublic | None:
    if not line.startswith("data: "):
        return None
    return TimelineEntryPublic.model_validate_json(line.removeprefix("data: "))


# -- transports -------------------------------------------------------------------------


class Client:
    """The API over a synchronous httpx client, as one person (their bearer token)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        """`base_url` is the BFF's address (`http://host:port`); `http`, when given, is
        used as it is (its own base URL, if any, is not used)."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owned = http is None  # closed by `close()`; a client handed in is the caller's
        self.http = http or httpx.Client(base_url=self.base_url, timeout=timeout)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def send(self, call: Call[M]) -> M:
        """The answer to `call`; ShopError when the API refuses it. Connection failures
        are httpx's errors."""
        response = self.http.request(
            call.method, self.base_url + call.path, params=call.params, json=call.json,
            headers={**self.headers(), **call.headers},
            timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )  # fmt: skip
        if response.status_code >= 400:
            raise error_of(response.status_code, response.content, response.headers)
        return call.parse(response.json())

    def sign_in(self, email: str, password: str) -> TokenPublic:
        """Sign in; later calls carry the token."""
        token = self.send(sign_in(email, password))
        self.token = token.access_token
        return token

    def wait_for_outcome(self, checkout_id: str, within: float = 60.0) -> CheckoutPublic:
        """The checkout once it is `completed` or `failed`, by long polls (`until=finished`:
        the server answers when the outcome is known); after `within` seconds, its state then."""
        deadline = _Deadline(within)
        while True:
            wait = deadline.next_wait()
            status = self.send(checkout(checkout_id, wait=wait, until="finished"))
            if finished(status) or wait <= 0:
                return status

    def stream(self, checkout_id: str, timeout: float = 120.0) -> Iterator[TimelineEntryPublic]:
        """The saga's timeline entries as they happen (Server-Sent Events), ending with
        CheckoutCompleted or CheckoutFailed."""
        headers = {**self.headers(), "Accept": "text/event-stream"}
        url = self.base_url + _stream_path(checkout_id)
        with self.http.stream("GET", url, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise error_of(response.status_code, response.content, response.headers)
            for line in response.iter_lines():
                entry = _entry(line)
                if entry is not None:
                    yield entry

    def close(self) -> None:
        if self._owned:
            self.http.close()


class AsyncClient:
    """The API over an asynchronous httpx client, as one person (their bearer token)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owned = http is None  # closed by `aclose()`; a client handed in is the caller's
        self.http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def send(self, call: Call[M]) -> M:
        """The answer to `call`; ShopError when the API refuses it. Connection failures
        are httpx's errors."""
        response = await self.http.request(
            call.method, self.base_url + call.path, params=call.params, json=call.json,
            headers={**self.headers(), **call.headers},
            timeout=call.timeout if call.timeout is not None else httpx.USE_CLIENT_DEFAULT,
        )  # fmt: skip
        if response.status_code >= 400:
            raise error_of(response.status_code, response.content, response.headers)
        return call.parse(response.json())

    async def sign_in(self, email: str, password: str) -> TokenPublic:
        """Sign in; later calls carry the token."""
        token = await self.send(sign_in(email, password))
        self.token = token.access_token
        return token

    async def wait_for_outcome(self, checkout_id: str, within: float = 60.0) -> CheckoutPublic:
        """The checkout once it is `completed` or `failed`, by long polls (`until=finished`:
        the server answers when the outcome is known); after `within` seconds, its state then."""
        deadline = _Deadline(within)
        while True:
            wait = deadline.next_wait()
            status = await self.send(checkout(checkout_id, wait=wait, until="finished"))
            if finished(status) or wait <= 0:
                return status

    async def aclose(self) -> None:
        if self._owned:
            await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
