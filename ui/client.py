"""The web UI's only way to the system: the gateway BFF's /v1 routes, through the API's
one client (`shopapi.client`).

Every failure becomes a `BffError` whose `message` is a plain sentence a person can
read; a backend that is away becomes `BffUnavailable` after a few quick retries. The
pages render JSON values (`ui.format`), so each answer is handed over as its model's
JSON form.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_incrementing,
)

from commerce.demo import DEMO_USERS, DemoUser
from commerce.services import SERVICES
from shopapi import client as api

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)

RETRIES = 3
RETRY_DELAY_SECONDS = 0.5


def bff_url() -> str:
    """Where the BFF is: `GATEWAY_BFF_URL`, else loopback on its port plus AGENTSHOP_PORT_OFFSET.

    Read from the environment directly: the UI has no database or broker, so the backend's
    settings (which insist on both in production) do not apply to it.
    """
    own = os.environ.get("GATEWAY_BFF_URL")
    if own:
        return own.rstrip("/")
    offset = int(os.environ.get("AGENTSHOP_PORT_OFFSET", "0") or 0)
    return f"http://127.0.0.1:{SERVICES['gateway-bff'].port + offset}"


class BffError(Exception):
    """A request the BFF answered with an error, as a sentence for the person."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class BffUnavailable(BffError):
    """The BFF (or a service behind it) is not answering."""


class SignedOut(BffError):
    """The token expired or was refused: the person must sign in again."""


def _error_of(response: httpx.Response) -> BffError:
    return _for_person(api.error_of(response.status_code, response.content, response.headers))


def _for_person(error: api.ShopError) -> BffError:
    code, message, status = error.code, error.message, error.status
    if status == 401:
        if code == "invalid_credentials":
            return BffError("Wrong email or password.", status=status, code=code)
        return SignedOut("Your session has ended; please sign in again.", status=status, code=code)
    if status == 429:
        wait = error.retry_after or "a few"
        return BffError(
            f"Too many requests; please wait {wait} seconds and try again.",
            status=status,
            code=code,
        )
    if status >= 500:
        return BffUnavailable(
            message or "The shop is not answering right now; please try again shortly.",
            status=status,
            code=code,
        )
    if status == 422 and code in ("", "validation_error"):
        return BffError(
            _sentence(message or "That request was not valid."), status=status, code=code
        )
    fallback = "That could not be found." if status == 404 else f"The request failed ({status})."
    return BffError(_sentence(message or fallback), status=status, code=code)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")


class BffClient:
    """A synchronous client for one person (Streamlit scripts run synchronously)."""

    def __init__(
        self, base_url: str | None = None, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = (base_url or bff_url()).rstrip("/")
        self.token = token
        self.timeout = timeout

    def send(self, call: api.Call[M]) -> M:
        """One request; connection failures and 502-504 (of a GET) are retried a few times
        first, RETRY_DELAY_SECONDS times n after the n-th try."""

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, api.ShopError):
                return exc.status in (502, 503, 504) and call.method == "GET"
            return isinstance(exc, httpx.HTTPError)

        def logged(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome is not None else None
            if isinstance(exc, api.ShopError):
                if state.attempt_number < RETRIES:
                    log.warning(
                        "bff.retry", path=call.path, status=exc.status, attempt=state.attempt_number
                    )
            else:
                log.warning(
                    "bff.unreachable", path=call.path, attempt=state.attempt_number, error=str(exc)
                )

        tries = Retrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(RETRIES),
            wait=wait_incrementing(start=RETRY_DELAY_SECONDS, increment=RETRY_DELAY_SECONDS),
            after=logged,
            sleep=time.sleep,
            reraise=True,
        )  # fmt: skip
        try:
            for attempt in tries:
                with attempt, httpx.Client(base_url=self.base_url, timeout=self.timeout) as http:
                    return api.Client(self.base_url, self.token, http=http).send(call)
        except httpx.HTTPError as exc:
            raise BffUnavailable(
                "The shop is not answering right now; please try again in a moment."
            ) from exc
        except api.ShopError as exc:
            error = _for_person(exc)
            log.info("bff.error", path=call.path, status=exc.status, code=error.code)
            raise error from exc
        raise AssertionError("unreachable")  # pragma: no cover

    # -- auth -----------------------------------------------------------------------
    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        if not email.strip() or not password:
            raise BffError("Please enter your email and password.")
        token = self.send(api.sign_in(email.strip(), password))
        self.token = token.access_token
        return _json(token)

    def me(self) -> dict[str, Any]:
        return _json(self.send(api.me()))

    def set_address(self, address: dict[str, Any]) -> dict[str, Any]:
        """Change the home address; the profile with it (a field not valid: BffError
        naming it)."""
        return _json(self.send(api.set_address(address)))

    # -- cart -----------------------------------------------------------------------
    def cart(self) -> dict[str, Any]:
        return _json(self.send(api.cart()))

    def remove_line(self, sku: str) -> dict[str, Any]:
        return _json(self.send(api.remove_line(sku)))

    def add_line(self, sku: str, quantity: int = 1) -> dict[str, Any]:
        if quantity < 1:
            raise BffError("Please choose a quantity of at least 1.")
        return _json(self.send(api.add_line(sku, quantity)))

    # -- products ---------------------------------------------------------------------
    def products(
        self,
        q: str | None = None,
        *,
        category: str | None = None,
        sort: str = "relevance",
        limit: int = 24,
        offset: int = 0,
    ) -> dict[str, Any]:
        """One page of the catalog's search (public: no sign-in needed)."""
        query = q.strip() if q and q.strip() else None
        call = api.search(query, category=category or None, sort=sort, limit=limit, offset=offset)
        return _json(self.send(call))

    def product(self, product_id: str) -> dict[str, Any]:
        return _json(self.send(api.product(product_id)))

    # -- checkouts, orders, refunds, notifications ------------------------------------
    def checkout(self, checkout_id: str) -> dict[str, Any]:
        return _json(self.send(api.checkout(checkout_id)))

    def timeline(self, checkout_id: str) -> list[dict[str, Any]]:
        return [_json(e) for e in self.send(api.timeline(checkout_id)).events]

    def stream(self, checkout_id: str, timeout: float = 120.0) -> Iterator[dict[str, Any]]:
        """The saga's timeline entries as they happen (Server-Sent Events), ending with
        CheckoutCompleted or CheckoutFailed."""
        try:
            with httpx.Client(base_url=self.base_url, timeout=timeout) as http:
                for entry in api.Client(self.base_url, self.token, http=http).stream(
                    checkout_id, timeout
                ):
                    yield _json(entry)
        except api.ShopError as exc:
            raise _for_person(exc) from exc
        except httpx.HTTPError as exc:
            raise BffUnavailable(
                "The live progress of this checkout cannot be followed right now."
            ) from exc

    def orders(self, limit: int = 20) -> list[dict[str, Any]]:
        return [_json(o) for o in self.send(api.orders(limit)).items]

    def order(self, order_id: str) -> dict[str, Any]:
        return _json(self.send(api.order(order_id)))

    def refunds(self, order_id: str) -> list[dict[str, Any]]:
        return [_json(r) for r in self.send(api.refunds(order_id)).items]

    def refund(
        self, order_id: str, reason: str, amount_cents: int | None, key: str
    ) -> dict[str, Any]:
        call = api.refund(order_id, reason, amount_cents=amount_cents, idempotency_key=key)
        return _json(self.send(call))

    def notifications(self) -> list[dict[str, Any]]:
        return [_json(n) for n in self.send(api.notifications()).items]

    # -- the assistant ------------------------------------------------------------------
    def conversations(self) -> list[dict[str, Any]]:
        return [_json(c) for c in self.send(api.conversations()).items]

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return _json(self.send(api.conversation(conversation_id)))

    def send_message(self, conversation_id: str | None, text: str) -> dict[str, Any]:
        return _json(self.send(api.send_message(conversation_id, text)))

    def confirm(self, conversation_id: str, approve: bool) -> dict[str, Any]:
        return _json(self.send(api.confirm(conversation_id, approve)))


def demo_users() -> list[DemoUser]:
    """The demo accounts shown on the sign-in page outside production."""
    if os.environ.get("AGENTSHOP_ENV", "dev") == "prod":
        return []
    return list(DEMO_USERS)
