"""The HTTP surface every service gets: health, readiness, metrics, correlation ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from commerce.contracts import Envelope
from commerce.platform import migrations
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import Settings
from tests.conftest import service_headers
from tests.integration import ledger
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


def client(runtime: ServiceRuntime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=runtime.app),
        base_url="http://svc",
        headers=service_headers(runtime.settings),
    )


async def test_health_readiness_and_metrics(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    url = await new_database("ledger")
    topic = await new_topic()
    service = ledger.ledger_service(topic, name="ledger-http")
    await migrations.upgrade(service.migrations, url, ledger.metadata)
    runtime = ServiceRuntime(service, infra, producer, database_url=url)
    await runtime.start()
    try:
        async with client(runtime) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok", "service": "ledger-http"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}

            response = await http.get("/healthz", headers={"x-correlation-id": "req-7"})
            assert response.headers["x-correlation-id"] == "req-7"
            assert (await http.get("/healthz")).headers["x-correlation-id"]

            await producer.send_and_wait(
                topic, Envelope.wrap(ledger.Credit(account="m", amount=1)).to_bytes()
            )

            async def scrape() -> str:
                return (await http.get("/metrics")).text

            text = await eventually(scrape, lambda t: 'outcome="ok"' in t)
        for name in (
            "agentshop_messages_consumed_total",
            "agentshop_handler_seconds_bucket",
            "agentshop_outbox_backlog",
            "agentshop_consumer_lag",
            "agentshop_http_requests_total",
            "agentshop_http_request_seconds_bucket",
        ):
            assert name in text, name
        assert 'route="/healthz"' in text
    finally:
        await runtime.stop()


async def test_readiness_fails_with_a_reason_when_the_database_is_unreachable(
    infra: Settings, producer: Any
) -> None:
    service = ledger.ledger_service("unused", name="ledger-nodb")
    runtime = ServiceRuntime(
        service, infra, producer, database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"
    )
    try:
        async with client(runtime) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"].startswith("unavailable")
        assert body["checks"]["broker"] == "ok"
    finally:
        await runtime.db.dispose()
        await runtime.http.aclose()
