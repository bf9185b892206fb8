"""Calls between services of one process go straight to the target's ASGI app.

With `agentshop up` every service runs in one process and one event loop. A call from
one of them to another (the BFF to catalog, catalog to inventory, a quote to tax and
discount) used to leave through httpx over loopback TCP and come back in through the
target's uvicorn server: two HTTP/1.1 encodings, a socket round trip and the connection
pool on every hop, all on the same loop. `InProcessTransport` hands such a request to the
target's app as an ASGI call instead; a request to any other address uses the network.

What the caller sees stays what the network gives it (docs/adr/0015):
- the same request: method, path, query, body and headers (trace context, correlation
  id, the platform's service token) reach the target's middleware and routes unchanged, so
  the target's edge checks an in-process call exactly as a network one (docs/adr/0022);
- an exception in the target is a 500 response (uvicorn answers so), logged there;
- the client's read timeout applies: `httpx.ReadTimeout` when the target is slower, and the
  target finishes its work, as a server does when its client has gone;
- the target runs in a task and context of its own, so nothing bound in the caller (log
  fields, the current span) leaks into it, and cancelling the caller does not cancel it;
- a service that is not running in this process (stopped, or never started here) is not
  found, so the request goes to the network and fails there as it would have.
Responses are read whole before they are returned (no streaming), which suits the JSON
calls between services; nothing streams between them.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

import httpx
import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger(__name__)

LocalApps = Callable[[httpx.URL], ASGIApp | None]
"""Answers the app serving a URL's origin in this process, or None (then the network)."""


class InProcessTransport(httpx.AsyncBaseTransport):
    """httpx transport: the app of a service in this process, else `network`."""

    def __init__(self, local: LocalApps, network: httpx.AsyncBaseTransport) -> None:
        self._local = local
        self._network = network
        self._transports: dict[int, tuple[ASGIApp, httpx.ASGITransport]] = {}
        self._running: set[asyncio.Task[httpx.Response]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        app = self._local(request.url)
        if app is None:
            return await self._network.handle_async_request(request)
        task = asyncio.create_task(
            self._asgi(app).handle_async_request(request), context=contextvars.Context()
        )
        self._running.add(task)
        task.add_done_callback(self._finished)
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            # shielded: a caller that gives up (timeout, cancellation) leaves the target
            # to finish, as a server keeps handling a request whose client went away
            async with asyncio.timeout(timeout):
                return await asyncio.shield(task)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(
                f"no answer from {request.url.host}:{request.url.port} within {timeout} s",
                request=request,
            ) from exc

    def _asgi(self, app: ASGIApp) -> httpx.ASGITransport:
        known = self._transports.get(id(app))
        if known is not None and known[0] is app:
            return known[1]
        transport = httpx.ASGITransport(app=_logging_errors(app), raise_app_exceptions=False)
        self._transports[id(app)] = (app, transport)
        return transport

    def _finished(self, task: asyncio.Task[httpx.Response]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("http.in_process_failed", error=repr(task.exception()))

    async def aclose(self) -> None:
        await self._network.aclose()


def _logging_errors(app: ASGIApp) -> ASGIApp:
    """Log an exception that escapes the app, as uvicorn does before answering 500."""

    async def run(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log.exception("http.unhandled_error", method=scope["method"], path=scope["path"])
            raise

    return run
