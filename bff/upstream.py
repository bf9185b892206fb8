"""Calls from the BFF to the services behind it, and the errors their answers become.

A backend's 404 stays a 404, its 409 and 422 keep their reason, any other failure (or its
being away) is a 503. Catalog reads go through the BFF's read cache (docs/adr/0014).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client import Counter

from bff.catalog_cache import ReadCache, Upstream
from bff.errors import ApiError, not_found
from commerce.platform.service import ServiceRuntime, Slot


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


def _catalog_cache(runtime: ServiceRuntime) -> ReadCache:
    settings = runtime.settings.bff.catalog_cache
    lookups = Counter(
        "agentshop_bff_catalog_cache_lookups",
        "Catalog reads through the BFF's cache, by outcome (hit, miss, shared)",
        ["outcome"],
        registry=runtime.metrics.registry,
    )
    outcomes = {outcome: lookups.labels(outcome) for outcome in ("hit", "miss", "shared")}
    return ReadCache(
        settings.catalog_cache_seconds,
        settings.catalog_cache_mb * 1_000_000,
        count=lambda outcome: outcomes[outcome].inc(),
    )


CATALOG_CACHE = Slot(_catalog_cache)


def catalog_cache(runtime: ServiceRuntime) -> ReadCache:
    """The BFF's cache of catalog answers (one per BFF runtime, made on first use)."""
    return CATALOG_CACHE.of(runtime)


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
