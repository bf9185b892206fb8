"""What every service's HTTP edge checks before a route runs (docs/adr/0022-edges-and-trust.md).

One ASGI middleware, in front of every app (the BFF and the internal services):
- a request body larger than `AGENTSHOP_MAX_BODY_BYTES` answers 413 (its Content-Length,
  or the bytes as they arrive: the body is never read past the limit);
- NUL and other control characters (C0 except tab, newline and carriage return, and DEL)
  in the path, the query or any string of a JSON body answer 422: PostgreSQL cannot store
  NUL, and none of them belongs in an id, a name or a code;
- on an internal service, a request without the platform's service token answers 401
  (health, readiness, metrics and the API's description stay open);
- every response carries `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and
  `Referrer-Policy: no-referrer`, and `Strict-Transport-Security` when the request came
  over TLS (directly or as told by the proxy's `X-Forwarded-Proto`).

Each refusal uses the app's own error shape (`app.state.error_response`, set by the BFF to
its public shape; internal services answer FastAPI's `{"detail": {...}}`).

`install_unavailable_handlers` answers 503 in the same shape when a route fails because
its database cannot be reached (instead of a plain-text 500).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce.platform import apidocs

log = structlog.get_logger(__name__)

SERVICE_TOKEN_HEADER = "X-Service-Token"
# probes, Prometheus, and the API's description (its calls still need the token)
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", *apidocs.ASSET_PATHS}
)

ErrorResponse = Callable[[str, int, str, str, str], Response]
"""(path, status, code, message, error type) -> the response in the app's error shape."""

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_ANY = re.compile(r"[\x00-\x1f\x7f]")
# a JSON escape of a control character; only then is the body parsed to look closer
_ESCAPED_CONTROL = re.compile(rb"\\u00[01][0-9a-fA-F]|\\u007[fF]")
_QUERY_CONTROL = re.compile(rb"%(?:[01][0-9a-fA-F]|7[fF])|[\x00-\x1f\x7f]")
_BASE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
HSTS = "max-age=63072000; includeSubDomains"


def default_error_response(path: str, status: int, code: str, message: str, _: str) -> Response:
    """An internal service's error shape: what its routes' `HTTPException(detail={...})` give."""
    return JSONResponse({"detail": {"code": code, "message": message}}, status_code=status)


def has_control_characters(value: Any) -> bool:
    """True when a decoded JSON value holds a string (or key) with a control character
    other than tab, newline and carriage return."""
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, dict):
        return any(has_control_characters(k) or has_control_characters(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_control_characters(v) for v in value)
    return False


class Edge:
    """The checks above, as one plain ASGI middleware (no task or channel per request)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        service_token: str | None,
        errors: Callable[[], ErrorResponse],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.service_token = service_token.encode() if service_token else None
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        tls = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                for name, value in _BASE_HEADERS:
                    if name.decode() not in out:
                        out.raw.append((name, value))
                if tls:
                    out["strict-transport-security"] = HSTS
            await send(message)

        refusal = self._refuse_early(scope, headers)
        if refusal is not None:
            await self._answer(scope, receive, send_with_headers, *refusal)
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send_with_headers)
            return
        body, refusal = await self._read_body(receive)
        if refusal is None and body and _ESCAPED_CONTROL.search(body):
            try:
                if has_control_characters(json.loads(body)):
                    refusal = (
                        422,
                        "invalid_characters",
                        "The request holds a control character (such as NUL).",
                    )
            except ValueError:
                pass  # not JSON: the route answers it
        if refusal is not None:
            await self._answer(scope, receive, send_with_headers, *refusal)
            return
        replayed = False

        async def receive_body() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, receive_body, send_with_headers)

    def _refuse_early(self, scope: Scope, headers: Headers) -> tuple[int, str, str] | None:
        path: str = scope["path"]
        if self.service_token is not None and path not in OPEN_PATHS:
            given = headers.get(SERVICE_TOKEN_HEADER, "").encode()
            if not hmac.compare_digest(given, self.service_token):
                return 401, "service_token_required", "Only the platform's services may call this."
        if _CONTROL_ANY.search(path) or _QUERY_CONTROL.search(scope.get("query_string", b"")):
            return 422, "invalid_characters", "The address holds a control character (such as NUL)."
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return self._too_large()
        return None

    def _too_large(self) -> tuple[int, str, str]:
        return 413, "body_too_large", f"The request body is over {self.max_body_bytes} bytes."

    async def _read_body(self, receive: Receive) -> tuple[bytes, tuple[int, str, str] | None]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"", (400, "disconnected", "The client went away.")
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), None

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str
    ) -> None:
        kind = {401: "authentication", 413: "invalid_request"}.get(status, "invalid_request")
        log.info("http.refused_at_edge", path=scope["path"], status=status, code=code)
        response = self.errors()(scope["path"], status, code, message, kind)
        if status == 413:
            response.headers["connection"] = "close"  # the rest of the body is not read
        await response(scope, receive, send)


def install_unavailable_handlers(app: FastAPI, errors: Callable[[], ErrorResponse]) -> None:
    """A route whose database cannot be reached answers 503 in the app's error shape."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from commerce.platform.consumer import is_unavailable

    async def unavailable(request: Request, exc: Exception) -> Response:
        local_file = isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError))
        if local_file or not (
            isinstance(exc, PoolTimeout) or is_unavailable(exc) or _transient(exc)
        ):
            log.error("http.unhandled_error", path=request.url.path, error=repr(exc))
            return errors()(
                request.url.path, 500, "internal_error", "Something went wrong.", "api_error"
            )
        log.warning("http.dependency_unavailable", path=request.url.path, error=repr(exc))
        response = errors()(
            request.url.path, 503, "service_unavailable",
            "A service this needs is not answering; try again shortly.", "api_error",
        )  # fmt: skip
        response.headers["Retry-After"] = "2"
        return response

    def _transient(exc: Exception) -> bool:
        orig = getattr(exc, "orig", None)
        cause = getattr(orig, "__cause__", None) or orig
        return isinstance(
            cause, (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)
        ) or isinstance(exc, (ConnectionError, TimeoutError))

    for kind in (DBAPIError, PoolTimeout, OSError, asyncpg.PostgresConnectionError):
        app.add_exception_handler(kind, unavailable)
