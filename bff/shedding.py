"""Shed new checkouts before the saga falls behind (docs/adr/0020, "graceful under overload").

Accepting a checkout the saga cannot start soon only makes every checkout slower (and, with
step deadlines, invites re-sends). So `POST /v1/checkouts` (and every other way a checkout is
started) first looks at the saga's backlog — sagas open plus records the orchestrator has
not handled yet, read from checkout-orchestrator's `GET /saga-backlog` at most once per
GATEWAY_BFF_BACKLOG_CHECK_SECONDS (1) — and answers 503 `overloaded` with Retry-After
(GATEWAY_BFF_SHED_RETRY_AFTER_SECONDS, 2) when it is above
GATEWAY_BFF_MAX_OPEN_CHECKOUTS (100). An orchestrator that cannot answer sheds nothing:
the checkout is accepted and the saga picks it up when it can.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import structlog

from bff.errors import ApiError
from commerce.platform.service import ServiceRuntime, Slot
from commerce.platform.settings import SheddingSettings

log = structlog.get_logger(__name__)


@dataclass
class _Backlog:
    settings: SheddingSettings
    value: int = 0
    read_at: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


BACKLOG = Slot(lambda runtime: _Backlog(runtime.settings.bff.shedding))


async def saga_backlog(runtime: ServiceRuntime) -> int:
    """The saga's backlog, read again when older than the check period."""
    backlog = BACKLOG.of(runtime)
    if time.monotonic() - backlog.read_at < backlog.settings.backlog_check_seconds:
        return backlog.value
    async with backlog.lock:  # one read at a time; the others use its answer
        if time.monotonic() - backlog.read_at >= backlog.settings.backlog_check_seconds:
            try:
                response = await runtime.http.get(
                    f"{runtime.url_of('checkout-orchestrator')}/saga-backlog", timeout=2.0
                )
                response.raise_for_status()
                body = response.json()
                backlog.value = int(body["open"]) + int(body.get("queued") or 0)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                log.info("bff.saga_backlog_unknown", error=str(exc))
                backlog.value = 0
            backlog.read_at = time.monotonic()
    return backlog.value


async def shed_if_behind(runtime: ServiceRuntime) -> None:
    """Raise 503 `overloaded` with Retry-After when the saga's backlog is above the limit."""
    backlog = await saga_backlog(runtime)
    settings = BACKLOG.of(runtime).settings
    if backlog > settings.max_open_checkouts:
        log.info("bff.checkout_shed", backlog=backlog, limit=settings.max_open_checkouts)
        raise ApiError(
            503,
            "overloaded",
            "Checkout is busy right now; please try again in a moment. Nothing was charged.",
            error_type="api_error",
            headers={"Retry-After": str(settings.shed_retry_after_seconds)},
        )
