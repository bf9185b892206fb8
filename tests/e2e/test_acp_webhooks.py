"""Order webhooks to a registered agent's endpoint: signed, in order, retried with backoff
while the endpoint is down, dead-lettered after the last attempt."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bff.acp_agents import register
from bff.tables import acp_webhook_deliveries
from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import ADDRESS, agent_for, closing, conforms, pay, signed_client
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


class Receiver:
    """An agent's webhook endpoint on loopback: verifies Merchant-Signature, keeps events."""

    def __init__(self, secret: str, *, failing: bool = False) -> None:
        self.secret, self.failing = secret, failing
        self.events: list[dict[str, Any]] = []
        self.request_ids: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = (
            f"http://127.0.0.1:{self.sock.getsockname()[1]}/agentic_checkout/webhooks/order_events"
        )

    async def receive(self, request: Request) -> JSONResponse:
        if self.failing:
            return JSONResponse(
                {"type": "processing_error", "code": "down", "message": "down"}, 500
            )
        body = await request.body()
        stamp, digest = (
            part.split("=", 1)[1] for part in request.headers["Merchant-Signature"].split(",")
        )
        expected = hmac.new(
            self.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, digest):
            return JSONResponse(
                {"type": "invalid_request", "code": "invalid_signature", "message": "bad"}, 401
            )
        self.events.append(json.loads(body))
        self.request_ids.append(request.headers["Request-Id"])
        return JSONResponse({"received": True, "request_id": request.headers["Request-Id"]})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        app = Starlette(
            routes=[
                Route("/agentic_checkout/webhooks/order_events", self.receive, methods=["POST"])
            ]
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        task = asyncio.create_task(server.serve(sockets=[self.sock]))
        await eventually(lambda: asyncio.sleep(0, server.started), bool, within=10)
        try:
            yield
        finally:
            server.should_exit = True
            await task


async def deliveries(stack: ServiceStack, agent_id: str) -> list[dict[str, Any]]:
    async with stack.runtime("gateway-bff").db.sessions() as session:
        rows = await session.execute(
            select(acp_webhook_deliveries).where(acp_webhook_deliveries.c.agent_id == agent_id)
            .order_by(acp_webhook_deliveries.c.id)
        )  # fmt: skip
        return [dict(r) for r in rows.mappings()]


async def bought(agent: Any) -> dict[str, Any]:
    created = await agent.post("/checkout_sessions", json={
        "line_items": [{"id": "BAT-AA-8", "quantity": 1}], "currency": "usd", "capabilities": {},
        "fulfillment_details": {"address": ADDRESS}})  # fmt: skip
    paid = await agent.post(
        f"/checkout_sessions/{created.json()['id']}/complete", json=pay("tok_visa")
    )
    assert paid.status_code == 200, paid.text
    return dict(paid.json())


async def test_order_events_reach_the_agent_once_it_is_back(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.ensure(*SERVICES)
    bff = stack.runtime("gateway-bff")
    webhooks = bff.settings.bff.webhooks  # the dispatcher reads them each round
    monkeypatch.setattr(webhooks, "backoff_seconds", 0.1)
    monkeypatch.setattr(webhooks, "max_backoff_seconds", 0.5)
    monkeypatch.setattr(webhooks, "poll_seconds", 0.05)
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    receiver = Receiver("")
    registered = await register(bff.db, agent_id, "user_456", webhook_url=receiver.url)
    receiver.secret = registered.webhook_secret or ""
    agent = signed_client(stack, registered.api_key, registered.signing_secret)
    bob = await agent_for(stack, "bob@example.com", "bob-demo-pass")
    async with closing(agent, bob), stack.client("order") as orders:
        # the endpoint is down while the orders are made, shipped, canceled and refunded
        first, second = await bought(agent), await bought(agent)
        first_id, second_id = first["order"]["id"], second["order"]["id"]
        assert (await orders.post(f"/orders/{first_id}/ship")).status_code == 200
        refund = await bob.post(
            f"/v1/orders/{first_id}/refunds", json={"reason": "one was flat", "amount_cents": 300}
        )
        assert refund.status_code == 202, refund.text
        assert (
            await orders.post(f"/orders/{second_id}/cancel", json={"reason": "changed mind"})
        ).status_code == 200
        owed = await eventually(
            lambda: deliveries(stack, agent_id),
            lambda rows: len(rows) == 5 and all(r["attempts"] >= 1 for r in rows[:1]),
            within=30,
        )
        assert all(r["status"] == "pending" for r in owed)
        assert owed[0]["attempts"] >= 1 and "ConnectError" in (owed[0]["last_error"] or "")
        async with receiver.running():
            await eventually(
                lambda: deliveries(stack, agent_id),
                lambda rows: all(r["status"] == "delivered" for r in rows),
                within=30,
            )
        assert len(receiver.request_ids) == len(set(receiver.request_ids)) == 5  # each once
        by_order: dict[str, list[tuple[str, str]]] = {}
        for sent in receiver.events:
            assert sent["type"] in ("order_create", "order_update")
            conforms(sent["data"], "Order")
            assert sent["data"]["checkout_session_id"] in (first["id"], second["id"])
            by_order.setdefault(sent["data"]["id"], []).append(
                (sent["type"], sent["data"]["status"])
            )
        assert by_order[first_id] == [
            ("order_create", "confirmed"),
            ("order_update", "shipped"),
            ("order_update", "shipped"),
        ]
        refunded = next(
            e
            for e in receiver.events
            if e["data"]["id"] == first_id and e["data"].get("adjustments")
        )
        assert refunded["data"]["adjustments"][0]["amount"] == 300
        assert by_order[second_id] == [("order_create", "confirmed"), ("order_update", "canceled")]


async def test_an_endpoint_that_keeps_failing_gets_a_dead_letter(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.ensure(*SERVICES)
    webhooks = stack.runtime("gateway-bff").settings.bff.webhooks  # read each round
    monkeypatch.setattr(webhooks, "backoff_seconds", 0.05)
    monkeypatch.setattr(webhooks, "max_backoff_seconds", 0.1)
    monkeypatch.setattr(webhooks, "poll_seconds", 0.05)
    monkeypatch.setattr(webhooks, "max_attempts", 3)
    receiver = Receiver("", failing=True)
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    registered = await register(
        stack.runtime("gateway-bff").db, agent_id, "user_456", webhook_url=receiver.url
    )
    agent = signed_client(stack, registered.api_key, registered.signing_secret)
    async with closing(agent), receiver.running():
        await bought(agent)
        dead = await eventually(
            lambda: deliveries(stack, agent_id),
            lambda rows: bool(rows) and rows[0]["status"] == "dead",
            within=30,
        )
    assert dead[0]["attempts"] == 3 and "HTTP 500" in (dead[0]["last_error"] or "")
    assert dead[0]["payload"]["type"] == "order_create"
