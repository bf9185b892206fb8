"""Calls between services of one process skip the network and behave as if they had not.

The services run in the test process as under `agentshop up`. Whether a call used the
network is seen at the target's uvicorn server: it counts every request it parses.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI, Request

from commerce import pricing
from commerce.contracts.values import Address, CheckoutLine
from commerce.platform.logging import bound
from commerce.platform.service import ServiceRuntime
from commerce.platform.telemetry import current_trace_id, tracer
from tests.conftest import ServiceStack, service_headers

pytestmark = pytest.mark.integration

TARGET = "tax-calculation"
CALLER = "discount-engine"
PROBES = ("/test-probe/context", "/test-probe/fail", "/test-probe/slow")


def requests_seen(stack: ServiceStack, name: str) -> int:
    """Requests the service's HTTP server has parsed off its socket."""
    runtime = stack.runtime(name)
    server = next(s for s in stack.running.servers if s.config.app is runtime.app)
    total: int = server.server_state.total_requests
    return total


@asynccontextmanager
async def probes(app: FastAPI) -> AsyncIterator[asyncio.Event]:
    """Routes that show what a request brought with it, fail, or take a while; the event
    is set when the slow one has finished its work."""
    finished = asyncio.Event()

    async def context(request: Request) -> dict[str, Any]:
        fields = structlog.contextvars.get_contextvars()
        return {
            "trace_id": current_trace_id(),
            "correlation_id": fields.get("correlation_id"),
            "caller_only": fields.get("caller_only"),
            "traceparent": request.headers.get("traceparent"),
        }

    async def fail() -> None:
        raise RuntimeError("the probe failed")

    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.5)
        finished.set()
        return {"status": "done"}

    app.add_api_route(PROBES[0], context, methods=["GET"])
    app.add_api_route(PROBES[1], fail, methods=["GET"])
    app.add_api_route(PROBES[2], slow, methods=["GET"])
    try:
        yield finished
    finally:
        app.router.routes[:] = [
            r for r in app.router.routes if getattr(r, "path", "") not in PROBES
        ]


@pytest.fixture
async def services(stack: ServiceStack) -> tuple[ServiceRuntime, str]:
    """The caller's runtime and the target's base URL."""
    await stack.ensure(TARGET, CALLER)
    caller: ServiceRuntime = stack.runtime(CALLER)
    return caller, caller.url_of(TARGET)


async def test_a_call_to_a_service_of_this_process_opens_no_connection(
    stack: ServiceStack, services: tuple[ServiceRuntime, str]
) -> None:
    caller, target = services
    before = requests_seen(stack, TARGET)
    for _ in range(3):
        response = await caller.http.get(f"{target}/healthz")
        assert response.json() == {"status": "ok", "service": TARGET}
    assert requests_seen(stack, TARGET) == before

    async with httpx.AsyncClient(
        headers=service_headers(stack.settings)
    ) as network:  # the same request from outside is seen
        assert (await network.get(f"{target}/healthz")).status_code == 200
    assert requests_seen(stack, TARGET) == before + 1


async def test_calls_use_the_network_when_in_process_calls_are_off(
    stack: ServiceStack, services: tuple[ServiceRuntime, str], producer: Any
) -> None:
    caller, target = services
    settings = caller.settings.model_copy(update={"in_process_calls": False})
    runtime = ServiceRuntime(caller.service, settings, producer, local=stack.running.local_app)
    try:
        before = requests_seen(stack, TARGET)
        assert (await runtime.http.get(f"{target}/healthz")).status_code == 200
        assert requests_seen(stack, TARGET) == before + 1
    finally:
        await runtime.http.aclose()
        await runtime.db.dispose()


async def test_only_addresses_served_here_are_answered_in_process(
    stack: ServiceStack, services: tuple[ServiceRuntime, str]
) -> None:
    _, target = services
    port = httpx.URL(target).port
    assert stack.running.local_app(httpx.URL(target)) is stack.runtime(TARGET).app
    assert stack.running.local_app(httpx.URL(f"http://localhost:{port}/x")) is not None
    assert stack.running.local_app(httpx.URL(f"http://tax.example:{port}/x")) is None
    assert stack.running.local_app(httpx.URL(f"https://127.0.0.1:{port}/x")) is None
    assert stack.running.local_app(httpx.URL("http://127.0.0.1:1/")) is None


async def test_a_stopped_service_fails_as_over_the_network_and_answers_once_back(
    stack: ServiceStack, services: tuple[ServiceRuntime, str]
) -> None:
    caller, target = services
    lines = [
        CheckoutLine(sku="SKU-1", product_id="p1", name="One", category="electronics",
                     quantity=1, unit_price_cents=1000)
    ]  # fmt: skip
    home = Address(name="A", line1="1 Main St", city="Portland", region="OR",
                   postal_code="97201", country="US")  # fmt: skip
    await stack.stop(TARGET)
    try:
        assert stack.running.local_app(httpx.URL(target)) is None
        with pytest.raises(httpx.ConnectError):
            await caller.http.get(f"{target}/healthz")
        async with httpx.AsyncClient(headers=service_headers(stack.settings)) as network:
            with pytest.raises(httpx.ConnectError):
                await network.get(f"{target}/healthz")
        with pytest.raises(pricing.PricingUnavailable):  # the callers' "try again" path
            await pricing.quote(
                caller.http, caller.settings, user_id=None, lines=lines,
                shipping_address=home, coupon_code=None,
            )  # fmt: skip
    finally:
        await stack.ensure(TARGET)
    before = requests_seen(stack, TARGET)
    quote = await pricing.quote(
        caller.http, caller.settings, user_id=None, lines=lines, shipping_address=home,
        coupon_code=None,
    )  # fmt: skip
    assert quote.jurisdiction == "US-OR" and quote.totals.total_cents == 1000 + 599
    assert requests_seen(stack, TARGET) == before  # in process again, on the new app


async def test_trace_context_and_correlation_id_arrive_and_nothing_else_leaks(
    stack: ServiceStack, services: tuple[ServiceRuntime, str]
) -> None:
    caller, target = services
    async with probes(stack.runtime(TARGET).app):
        with (
            tracer.start_as_current_span("caller"),
            bound(correlation_id="corr-in-process", caller_only="not for the target"),
        ):
            trace_id = current_trace_id()
            response = await caller.http.get(f"{target}{PROBES[0]}")
            explicit = await caller.http.get(
                f"{target}{PROBES[0]}", headers={"x-correlation-id": "explicit-1"}
            )
    assert trace_id is not None
    seen = response.json()
    assert seen["trace_id"] == trace_id
    assert seen["traceparent"].split("-")[1] == trace_id
    assert seen["correlation_id"] == "corr-in-process"
    assert response.headers["x-correlation-id"] == "corr-in-process"
    assert seen["caller_only"] is None  # the target runs in a context of its own
    assert explicit.json()["correlation_id"] == "explicit-1"


async def test_an_exception_in_the_target_is_a_500_to_the_caller(
    stack: ServiceStack, services: tuple[ServiceRuntime, str]
) -> None:
    caller, target = services
    async with (
        probes(stack.runtime(TARGET).app),
        httpx.AsyncClient(headers=service_headers(stack.settings)) as network,
    ):
        in_process = await caller.http.get(f"{target}{PROBES[1]}")
        over_network = await network.get(f"{target}{PROBES[1]}")
    assert in_process.status_code == over_network.status_code == 500
    assert in_process.text == over_network.text


async def test_a_slow_target_times_out_for_the_caller_and_still_finishes(
    stack: ServiceStack, services: tuple[ServiceRuntime, str]
) -> None:
    caller, target = services
    async with probes(stack.runtime(TARGET).app) as finished:
        with pytest.raises(httpx.ReadTimeout):
            await caller.http.get(f"{target}{PROBES[2]}", timeout=0.05)
        assert not finished.is_set()
        await asyncio.wait_for(finished.wait(), 5)
        async with httpx.AsyncClient(headers=service_headers(stack.settings)) as network:
            finished.clear()
            with pytest.raises(httpx.ReadTimeout):
                await network.get(f"{target}{PROBES[2]}", timeout=0.05)
            await asyncio.wait_for(finished.wait(), 5)


async def test_a_replica_answers_the_calls_of_its_consumers_in_process(stack: ServiceStack) -> None:
    """A replica (`agentshop up --replicas`, docs/adr/0031) serves no HTTP: the services its
    consumers call answer it in-process, and nothing of theirs starts."""
    from commerce.platform import stack as platform_stack
    from commerce.platform.embedded import port_is_free

    await stack.ensure(TARGET)
    # its own port offset: nothing listens where the replica's calls to the target go
    settings = stack.settings.model_copy(update={"port_offset": stack.settings.port_offset + 50})
    url = settings.service_url(TARGET)
    assert port_is_free(httpx.URL(url).port or 80)
    replica = await platform_stack.start_services(settings, [], serve_http=False)
    try:
        await replica.add_replica([], [TARGET])
        runtime = replica.runtimes[TARGET]
        assert replica.local_app(httpx.URL(url)) is runtime.app
        answer = await runtime.http.get(f"{url}/healthz", headers=service_headers(stack.settings))
        assert answer.json() == {"status": "ok", "service": TARGET}
        assert port_is_free(httpx.URL(url).port or 80)  # no server
        # no relay, consumer or background loop of the target runs in the replica
        assert (runtime._tasks, runtime._background) == ([], [])
    finally:
        await replica.stop()


async def test_every_server_of_the_process_sends_the_current_date(
    services: tuple[ServiceRuntime, str],
) -> None:
    """The Date header of every HTTP server of the process stays current: one timer
    refreshes them all (docs/adr/0030), none has its own."""
    caller, target = services
    urls = [f"{caller.url_of(CALLER)}/healthz", f"{target}/healthz"]
    async with httpx.AsyncClient(timeout=5) as client:  # over the network, to the servers
        for _ in range(2):
            for url in urls:
                response = await client.get(url)
                sent = email.utils.parsedate_to_datetime(response.headers["date"])
                assert abs(sent.timestamp() - time.time()) < 2.5, (url, response.headers["date"])
            await asyncio.sleep(3)
