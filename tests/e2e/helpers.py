"""What the end-to-end tests share: signed-in clients, a checkout, the protocol's documents."""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import yaml

from bff.acp_agents import signature
from tests.conftest import ServiceStack

if TYPE_CHECKING:
    from streamlit.testing.v1 import AppTest

HOME = {
    "name": "Alice Martin",
    "line1": "1 Main St",
    "city": "Portland",
    "region": "OR",
    "postal_code": "97201",
    "country": "US",
}


@asynccontextmanager
async def closing(*clients: httpx.AsyncClient) -> AsyncIterator[None]:
    try:
        yield
    finally:
        for client in clients:
            await client.aclose()


async def signed_in(stack: ServiceStack, email: str, password: str) -> httpx.AsyncClient:
    client: httpx.AsyncClient = stack.client("gateway-bff")
    token = await client.post("/v1/auth/token", json={"email": email, "password": password})
    assert token.status_code == 200, token.text
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


async def start_checkout(client: httpx.AsyncClient, sku: str, token: str = "tok_visa") -> str:
    """Put one `sku` in the cart, quote and start the checkout as a web client does; returns
    its id. An earlier checkout of the same person may still be clearing its lines: its
    ClearCart can take the line just added (the quote finds the cart empty, 422) or change
    the total (409). Then the line goes in again and the cart is quoted again, as a client
    shown the emptied cart or the new total would."""
    for _ in range(5):
        cart = (await client.get("/v1/cart")).json()
        if not any(line["sku"] == sku for line in cart.get("lines", [])):
            await client.post("/v1/cart/lines", json={"sku": sku, "quantity": 1})
        quoted = await client.post("/v1/checkout/quote", json={"shipping_address": HOME})
        if quoted.status_code == 422 and "cart_empty" in quoted.text:
            continue
        assert quoted.status_code == 200, quoted.text
        started = await client.post(
            "/v1/checkouts",
            json={
                "shipping_address": HOME,
                "payment_token": token,
                "expected_total_cents": quoted.json()["totals"]["total_cents"],
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        if started.status_code not in (409, 422):
            break
    assert started.status_code == 202, started.text
    return str(started.json()["checkout_id"])


SPEC = yaml.safe_load(
    (
        Path(__file__).resolve().parents[2] / "commerce" / "contracts" / "acp" / "2026-04-17"
        / "openapi.agentic_checkout.yaml"
    ).read_text()
)  # fmt: skip


API_VERSION = "2026-04-17"


ADDRESS = {
    "name": "Alice Martin",
    "line_one": "1 Main St",
    "city": "San Francisco",
    "state": "CA",
    "country": "US",
    "postal_code": "94105",
}


CAPABILITIES: dict[str, Any] = {"interventions": {"supported": []}}


async def with_idempotency_key(request: httpx.Request) -> None:
    if request.method == "POST" and "Idempotency-Key" not in request.headers:
        request.headers["Idempotency-Key"] = str(uuid.uuid4())


async def agent_for(stack: ServiceStack, email: str, password: str) -> httpx.AsyncClient:
    """A person's client speaking the protocol: API-Version, an Idempotency-Key per POST."""
    client = await signed_in(stack, email, password)
    client.headers["API-Version"] = API_VERSION
    client.event_hooks["request"].append(with_idempotency_key)
    return client


def conforms(body: Any, schema: str, *, corrected: bool = False) -> None:
    """Validate a response against a schema of the protocol's OpenAPI document; `corrected`:
    with the erratum that lets CheckoutSessionWithOrder be satisfied (its closed base gets
    `order`, see tests/e2e/test_acp_conformance.py)."""
    document = copy.deepcopy(SPEC) if corrected else SPEC
    if corrected:
        document["components"]["schemas"]["CheckoutSessionBase"]["properties"]["order"] = {
            "$ref": "#/components/schemas/Order"
        }
    jsonschema.Draft202012Validator(
        {**document, "$ref": f"#/components/schemas/{schema}"},
        format_checker=jsonschema.FormatChecker(),
    ).validate(body)


def pay(token: str) -> dict[str, Any]:
    return {
        "payment_data": {
            "handler_id": "agentshop",
            "instrument": {"type": "card", "credential": {"type": "spt", "token": token}},
        }
    }


def signed_client(
    stack: ServiceStack, api_key: str, secret: str, *, skew: float = 0
) -> httpx.AsyncClient:
    async def sign(request: httpx.Request) -> None:
        stamp = (datetime.now(UTC) + timedelta(seconds=skew)).isoformat().replace("+00:00", "Z")
        target = request.url.raw_path.decode()
        request.headers["Timestamp"] = stamp
        request.headers["Signature"] = signature(
            secret, stamp, request.method, target, request.content
        )
        if request.method == "POST":
            request.headers["Idempotency-Key"] = str(uuid.uuid4())

    client: httpx.AsyncClient = stack.client("gateway-bff")
    client.headers.update({"Authorization": f"Bearer {api_key}", "API-Version": API_VERSION})
    client.event_hooks["request"].append(sign)
    return client


async def orders_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await client.get("/v1/orders")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def empty_cart(client: httpx.AsyncClient) -> None:
    for line in (await client.get("/v1/cart")).json()["lines"]:
        await client.delete(f"/v1/cart/lines/{line['sku']}")


async def run_app(app: AppTest) -> AppTest:
    """Run a web UI page (streamlit's AppTest) off the event loop the stack serves on."""
    return await asyncio.to_thread(app.run, timeout=60)


def start_up(args: list[str], log_path: Path, **variables: str) -> subprocess.Popen[bytes]:
    """`agentshop up ARGS` in a process group of its own, on embedded infrastructure of its
    own (the session's database and broker URLs left out), with `variables` added to its
    environment and its output in `log_path`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS") and not k.endswith("_DATABASE_URL")
    }
    env.update(variables)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "agentshop.cli", "up", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
