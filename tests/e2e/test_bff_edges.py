"""The BFF's edges and trust (docs/adr/0022): body limits, control characters, path ids,
a database away, sign-in throttling, security headers, what a timeline shows, and internal
APIs that answer only the platform."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import make_url

from bff import auth
from commerce.cart.tables import cart_lines
from commerce.contracts.values import MAX_CHECKOUT_LINES
from commerce.platform.db import Database
from commerce.platform.edges import SERVICE_TOKEN_HEADER
from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import CAPABILITIES, HOME, closing, signed_in, start_checkout
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


def acp_error(body: Any) -> None:
    """The Agentic Commerce Protocol's flat Error object."""
    assert set(body) <= {"type", "code", "message", "param"}, body
    assert body["type"] in ("invalid_request", "processing_error", "service_unavailable")


async def test_bodies_over_the_limit_answer_413_in_the_routes_shape(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    limit = stack.runtime("gateway-bff").settings.max_body_bytes
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    big = {"line_items": [{"id": "CBL-USBC-2M-BLA", "quantity": 1, "name": "x" * (limit + 1)}]}
    async with closing(alice):
        acp = await alice.post("/checkout_sessions", json={**big, "currency": "usd"})
        assert acp.status_code == 413
        acp_error(acp.json())
        assert acp.json()["code"] == "body_too_large"
        v1 = await alice.post("/v1/cart/lines", json={"sku": "x" * (limit + 1)})
        assert v1.status_code == 413 and v1.json()["error"]["code"] == "body_too_large"

        async def chunks() -> Any:  # no Content-Length: counted as it arrives
            for _ in range(limit // 65536 + 2):
                yield b"x" * 65536

        streamed = await alice.post(
            "/v1/cart/lines", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413
        # internal services have the same limit
        async with stack.client("cart") as cart:
            assert (
                await cart.post("/carts/u1/lines", content=b"x" * (limit + 1))
            ).status_code == 413


async def test_nul_and_control_characters_answer_422_in_the_routes_shape(
    stack: ServiceStack,
) -> None:
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        acp = await alice.post(
            "/checkout_sessions",
            json={
                "line_items": [{"id": "CBL-USBC-2M-BLA", "quantity": 1, "name": "a\x00b"}],
                "currency": "usd",
                "capabilities": CAPABILITIES,
            },
        )
        assert acp.status_code == 422, acp.text
        acp_error(acp.json())
        assert acp.json()["code"] == "invalid_characters"
        for bad in ("BAT\x00AA", "BAT\x07AA"):
            v1 = await alice.post("/v1/cart/lines", json={"sku": bad})
            assert v1.status_code == 422 and v1.json()["error"]["code"] == "invalid_characters"
        query = await alice.get("/v1/products", params={"q": "cable\x00"})
        assert query.status_code == 422 and query.json()["error"]["type"] == "invalid_request"
        # tab and newline stay allowed where a person may type several lines
        cart = await alice.post("/v1/cart/lines", json={"sku": "BAT-AA-8", "quantity": 1})
        assert cart.status_code == 200


async def test_path_ids_are_validated_and_dots_never_walk_up(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob):
        await bob.post("/v1/cart/lines", json={"sku": "BAT-AA-8", "quantity": 1})
        before = (await bob.get("/v1/cart")).json()["lines"]
        assert before
        for path in ("/v1/cart/lines/%2E%2E", "/v1/cart/lines/%2E", "/v1/cart/lines/..%2F.."):
            response = await bob.delete(path)
            assert response.status_code in (404, 422), (path, response.text)
            assert "error" in response.json()
        assert (await bob.get("/v1/cart")).json()["lines"] == before
        assert (await bob.get("/v1/products/%2E%2E")).status_code in (404, 422)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_away_answers_503_in_the_shape(stack: ServiceStack) -> None:
    """The BFF's PostgreSQL stops answering (its pool points at a port nobody listens on):
    reads and starting a checkout answer 503, never a plain 500."""
    await stack.ensure(*SERVICES)
    runtime = stack.runtime("gateway-bff")
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        await carla.post("/v1/cart/lines", json={"sku": "COF-HOUSE-340", "quantity": 1})
        quote = (await carla.post("/v1/checkout/quote", json={"shipping_address": HOME})).json()
        # its own database, on a loopback port nobody listens on (whichever way it reached
        # the server: TCP, or the embedded server's Unix socket)
        nowhere = make_url(runtime.db.url).set(host="127.0.0.1", port=_closed_port(), query={})
        away = Database(nowhere.render_as_string(hide_password=False))
        working, runtime.db = runtime.db, away
        try:
            me = await carla.get("/v1/me")
            assert me.status_code == 503 and me.json()["error"]["code"] == "service_unavailable"
            assert me.headers["retry-after"]
            started = await carla.post(
                "/v1/checkouts",
                json={
                    "shipping_address": HOME,
                    "payment_token": "tok_visa",
                    "expected_total_cents": quote["totals"]["total_cents"],
                },
            )
            assert started.status_code == 503, started.text
            assert started.json()["error"]["type"] == "api_error"
        finally:
            runtime.db = working
            await away.dispose()
        assert (await carla.get("/v1/me")).status_code == 200


async def test_sign_in_is_throttled_per_account_and_per_address(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.ensure("gateway-bff")
    settings = stack.runtime("gateway-bff").settings
    monkeypatch.setattr(settings, "signin_failures_per_account", 3)
    monkeypatch.setattr(settings, "signin_failures_per_address", 6)
    failures = auth.SIGNIN_FAILURES.of(stack.runtime("gateway-bff"))
    failures.reset()  # earlier tests' wrong passwords came from this address too
    try:
        async with stack.client("gateway-bff") as http:
            for _ in range(3):
                wrong = await http.post(
                    "/v1/auth/token", json={"email": "alice@example.com", "password": "nope"}
                )
                assert wrong.status_code == 401
            # the account is held even with the right password, and says for how long
            held = await http.post(
                "/v1/auth/token", json={"email": "alice@example.com", "password": "alice-demo-pass"}
            )
            assert held.status_code == 429 and int(held.headers["retry-after"]) > 0
            assert held.json()["error"]["code"] == "too_many_attempts"
            # an unknown account answers as a known one does, and counts against the address
            for i in range(3):
                unknown = await http.post(
                    "/v1/auth/token", json={"email": f"nobody{i}@example.com", "password": "x"}
                )
                assert unknown.status_code == 401
                assert unknown.json()["error"]["code"] == "invalid_credentials"
            blocked = await http.post(
                "/v1/auth/token", json={"email": "bob@example.com", "password": "bob-demo-pass"}
            )
            assert blocked.status_code == 429 and blocked.headers["retry-after"]
    finally:
        failures.reset()
    assert (await signed_in(stack, "bob@example.com", "bob-demo-pass")).headers["authorization"]


def test_unknown_accounts_are_verified_against_a_dummy_hash() -> None:
    """An unknown e-mail costs one Argon2 verification too (its timing tells nothing)."""
    calls: list[str] = []
    original = auth.hasher.verify

    def counting(password: str | bytes, hashed: str | bytes) -> bool:
        calls.append(str(hashed))
        return bool(original(password, hashed))

    auth.hasher.verify = counting  # type: ignore[method-assign,assignment]
    try:
        assert auth.verify_password("guess", None) is False
    finally:
        auth.hasher.verify = original  # type: ignore[method-assign]
    assert calls == [auth.dummy_hash()]


async def test_security_headers(stack: ServiceStack) -> None:
    await stack.ensure("gateway-bff")
    async with stack.client("gateway-bff") as http:
        landing = await http.get("/")
        api = await http.get("/v1/products", params={"q": "cable"})
        tls = await http.get("/healthz", headers={"x-forwarded-proto": "https"})
    for response in (landing, api, tls):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
    csp = landing.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "strict-transport-security" not in api.headers  # plain HTTP
    assert tls.headers["strict-transport-security"].startswith("max-age=")


async def test_the_timeline_and_stream_show_no_payment_token_and_a_redacted_contact(
    stack: ServiceStack,
) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        checkout_id = await start_checkout(carla, "COF-HOUSE-340")
        timeline = await eventually(
            lambda: carla.get(f"/v1/checkouts/{checkout_id}/events"),
            lambda r: r.status_code == 200 and r.json()["events"],
        )
        async with carla.stream(
            "GET", f"/v1/checkouts/{checkout_id}/stream", timeout=60
        ) as response:
            streamed = [line async for line in response.aiter_lines() if line.startswith("data:")]
    shown = timeline.text + "".join(streamed)
    assert "tok_visa" not in shown and "payment_token" not in shown
    assert "carla@example.com" not in shown
    initiate = next(e for e in timeline.json()["events"] if e["type"] == "InitiateCheckoutCommand")
    assert initiate["payload"]["contact"]["email"] == "c***@example.com"
    # the orchestrator itself keeps the whole command
    async with stack.client("checkout-orchestrator") as orchestrator:
        whole = (await orchestrator.get(f"/checkouts/{checkout_id}/events")).json()
    assert "tok_visa" in str(whole)


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("inventory", "PUT", "/stock/BAT-AA-8"),
        ("checkout-orchestrator", "GET", "/checkouts?user_id=user_123"),
        ("payment-gateway", "GET", "/payments?user_id=user_123"),
        ("cart", "DELETE", "/carts/user_123"),
    ],
)
async def test_internal_apis_answer_only_the_platform(
    stack: ServiceStack, service: str, method: str, path: str
) -> None:
    await stack.ensure(service)
    url = stack.settings.service_url(service)
    async with httpx.AsyncClient(base_url=url, timeout=10) as outsider:
        refused = await outsider.request(method, path, json={"on_hand": 0})
        assert refused.status_code == 401
        assert refused.json()["detail"]["code"] == "service_token_required"
        wrong = await outsider.request(
            method, path, json={"on_hand": 0}, headers={SERVICE_TOKEN_HEADER: "guess"}
        )
        assert wrong.status_code == 401
        for open_path in ("/healthz", "/readyz", "/metrics"):
            assert (await outsider.get(open_path)).status_code == 200
    async with stack.client(service) as platform:  # the platform's token
        assert (await platform.get("/healthz")).status_code == 200
        if method == "GET":
            assert (await platform.get(path)).status_code == 200


async def test_in_process_calls_carry_the_service_token(stack: ServiceStack) -> None:
    """With every service in one process the BFF's calls go straight to the target's app;
    they pass the same check (a product page reads catalog, which reads inventory)."""
    await stack.ensure("gateway-bff", "catalog", "inventory")
    async with stack.client("gateway-bff") as http:
        product = await http.get("/v1/products/p-battery-aa")
    assert product.status_code == 200, product.text


async def test_a_cart_over_the_line_limit_is_refused_at_checkout_never_a_500(
    stack: ServiceStack,
) -> None:
    """A cart filled past the limit before cart enforced it (written straight into cart's
    database here) is refused with the limit, at the quote and at the checkout."""
    await stack.ensure(*SERVICES)
    cart_db = stack.runtime("cart").db
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        await alice.post("/v1/cart/lines", json={"sku": "BAT-AA-8", "quantity": 1})
        cart_id = (await alice.get("/v1/cart")).json()["cart_id"]
        extra = [f"ZZ-LIMIT-{i}" for i in range(MAX_CHECKOUT_LINES + 39)]
        async with cart_db.transaction() as session:
            await session.execute(
                insert(cart_lines),
                [
                    {"cart_id": uuid.UUID(cart_id), "sku": sku, "product_id": "p-x", "name": sku,
                     "quantity": 1, "unit_price_cents": 100, "currency": "USD"}
                    for sku in extra
                ],
            )  # fmt: skip
        try:
            for path, body in (
                ("/v1/checkout/quote", {"shipping_address": HOME}),
                (
                    "/v1/checkouts",
                    {
                        "shipping_address": HOME,
                        "payment_token": "tok_visa",
                        "expected_total_cents": 1,
                    },
                ),
            ):
                refused = await alice.post(path, json=body)
                assert refused.status_code == 422, refused.text
                assert refused.json()["error"]["code"] == "cart_full"
                assert str(MAX_CHECKOUT_LINES) in refused.json()["error"]["message"]
        finally:
            async with cart_db.transaction() as session:
                await session.execute(delete(cart_lines).where(cart_lines.c.sku.in_(extra)))
