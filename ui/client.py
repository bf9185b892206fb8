"""The web UI's only way to the system: the gateway BFF's /v1 routes, over httpx.

Every failure becomes a `BffError` whose `message` is a plain sentence a person can
read; a backend that is away becomes `BffUnavailable` after a few quick retries.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx
import structlog

from commerce.demo import DEMO_USERS, DemoUser
from commerce.services import SERVICES

log = structlog.get_logger(__name__)

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
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error", {}) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        error = {}
    code = str(error.get("code", ""))
    message = str(error.get("message") or "")
    status = response.status_code
    if status == 401:
        if code == "invalid_credentials":
            return BffError("Wrong email or password.", status=status, code=code)
        return SignedOut("Your session has ended; please sign in again.", status=status, code=code)
    if status == 429:
        wait = response.headers.get("retry-after", "a few")
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


class BffClient:
    """A synchronous client for one person (Streamlit scripts run synchronously)."""

    def __init__(
        self, base_url: str | None = None, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.base_url = (base_url or bff_url()).rstrip("/")
        self.token = token
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; connection failures and 502-504 are retried a few times first."""
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        for attempt in range(1, RETRIES + 1):
            try:
                with httpx.Client(base_url=self.base_url, timeout=self.timeout) as http:
                    response = http.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                log.warning("bff.unreachable", path=path, attempt=attempt, error=str(exc))
                if attempt == RETRIES:
                    raise BffUnavailable(
                        "The shop is not answering right now; please try again in a moment."
                    ) from exc
                time.sleep(RETRY_DELAY_SECONDS * attempt)
                continue
            if response.status_code in (502, 503, 504) and attempt < RETRIES and method == "GET":
                log.warning("bff.retry", path=path, status=response.status_code, attempt=attempt)
                time.sleep(RETRY_DELAY_SECONDS * attempt)
                continue
            if response.status_code >= 400:
                error = _error_of(response)
                log.info("bff.error", path=path, status=response.status_code, code=error.code)
                raise error
            return response.json() if response.content else None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- auth -----------------------------------------------------------------------
    def sign_in(self, email: str, password: str) -> dict[str, Any]:
        if not email.strip() or not password:
            raise BffError("Please enter your email and password.")
        token = self.request(
            "POST", "/v1/auth/token", json={"email": email.strip(), "password": password}
        )
        self.token = str(token["access_token"])
        return cast(dict[str, Any], token)

    def me(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", "/v1/me"))

    # -- cart -----------------------------------------------------------------------
    def cart(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", "/v1/cart"))

    def remove_line(self, sku: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("DELETE", f"/v1/cart/lines/{_seg(sku)}"))

    # -- checkouts, orders, refunds, notifications ------------------------------------
    def checkout(self, checkout_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", f"/v1/checkouts/{_seg(checkout_id)}"))

    def timeline(self, checkout_id: str) -> list[dict[str, Any]]:
        body = self.request("GET", f"/v1/checkouts/{_seg(checkout_id)}/events")
        return cast(list[dict[str, Any]], body["events"])

    def stream(self, checkout_id: str, timeout: float = 120.0) -> Iterator[dict[str, Any]]:
        """The saga's timeline entries as they happen (Server-Sent Events), ending with
        CheckoutCompleted or CheckoutFailed."""
        try:
            with (
                httpx.Client(base_url=self.base_url, timeout=timeout) as http,
                http.stream(
                    "GET",
                    f"/v1/checkouts/{_seg(checkout_id)}/stream",
                    headers={**self._headers(), "Accept": "text/event-stream"},
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    raise _error_of(response)
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        yield cast(dict[str, Any], json.loads(line.removeprefix("data: ")))
        except httpx.HTTPError as exc:
            raise BffUnavailable(
                "The live progress of this checkout cannot be followed right now."
            ) from exc

    def orders(self, limit: int = 20) -> list[dict[str, Any]]:
        body = self.request("GET", "/v1/orders", params={"limit": limit})
        return cast(list[dict[str, Any]], body["items"])

    def order(self, order_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", f"/v1/orders/{_seg(order_id)}"))

    def refunds(self, order_id: str) -> list[dict[str, Any]]:
        body = self.request("GET", f"/v1/orders/{_seg(order_id)}/refunds")
        return cast(list[dict[str, Any]], body["items"])

    def refund(
        self, order_id: str, reason: str, amount_cents: int | None, key: str
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason}
        if amount_cents is not None:
            body["amount_cents"] = amount_cents
        return cast(
            dict[str, Any],
            self.request(
                "POST",
                f"/v1/orders/{_seg(order_id)}/refunds",
                json=body,
                headers={"Idempotency-Key": key},
            ),
        )

    def notifications(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self.request("GET", "/v1/notifications")["items"])

    # -- the assistant ------------------------------------------------------------------
    def conversations(self) -> list[dict[str, Any]]:
        body = self.request("GET", "/v1/assistant/conversations")
        return cast(list[dict[str, Any]], body["items"])

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self.request("GET", f"/v1/assistant/conversations/{_seg(conversation_id)}"),
        )

    def send(self, conversation_id: str | None, text: str) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self.request(
                "POST",
                "/v1/assistant/messages",
                json={"conversation_id": conversation_id, "text": text},
            ),
        )

    def confirm(self, conversation_id: str, approve: bool) -> dict[str, Any]:
        return cast(
            dict[str, Any],
            self.request(
                "POST",
                f"/v1/assistant/conversations/{_seg(conversation_id)}/confirm",
                json={"approve": approve},
            ),
        )


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def demo_users() -> list[DemoUser]:
    """The demo accounts shown on the sign-in page outside production."""
    if os.environ.get("AGENTSHOP_ENV", "dev") == "prod":
        return []
    return list(DEMO_USERS)
