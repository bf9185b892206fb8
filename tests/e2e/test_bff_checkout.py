"""A person shops through the BFF only: sign in, search, cart, quote, checkout, order, refund."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from bff import auth
from commerce.contracts.values import FINAL_STATES
from commerce.services import SERVICES, UI_PORT
from tests.conftest import ServiceStack
from tests.e2e.helpers import HOME, closing, signed_in, start_checkout
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


async def test_shopping_through_the_bff(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(alice, bob):
        await alice.delete("/v1/cart/lines/BAT-AA-8")
        found = (await alice.get("/v1/products", params={"q": "aa batteries"})).json()
        # the store sells AA batteries of several brands: the first hits are of that kind
        assert found["items"][0]["product_type"] == "aa battery"
        assert "p-battery-aa" in {p["product_id"] for p in found["items"]}
        added = await alice.post("/v1/cart/lines", json={"sku": "BAT-AA-8", "quantity": 2})
        assert added.status_code == 200
        assert (
            next(li for li in added.json()["lines"] if li["sku"] == "BAT-AA-8")["unit_price_cents"]
            == 939
        )
        quote = (await alice.post("/v1/checkout/quote", json={"shipping_address": HOME})).json()
        total = quote["totals"]["total_cents"]
        body = {
            "shipping_address": HOME,
            "payment_token": "tok_visa",
            "expected_total_cents": total,
        }
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        first = await alice.post("/v1/checkouts", json=body, headers=key)
        again = await alice.post("/v1/checkouts", json=body, headers=key)
        assert first.status_code == again.status_code == 202
        assert again.json()["checkout_id"] == first.json()["checkout_id"]
        changed = await alice.post(
            "/v1/checkouts", json={**body, "payment_token": "tok_other"}, headers=key
        )
        assert (
            changed.status_code == 422
            and changed.json()["error"]["code"] == "idempotency_key_reused"
        )
        checkout_id = first.json()["checkout_id"]
        status = await eventually(
            lambda: _json(alice.get(f"/v1/checkouts/{checkout_id}")),
            lambda s: s.get("state") in FINAL_STATES,
            within=60,
        )
        assert status["state"] == "completed", status
        order = (await alice.get(f"/v1/orders/{status['order_id']}")).json()
        assert order["total_cents"] == total
        refund = await eventually(  # the refund service learns of orders from CheckoutCompleted
            lambda: alice.post(
                f"/v1/orders/{order['order_id']}/refunds",
                json={"reason": "one pack too many", "amount_cents": 500},
                headers={"Idempotency-Key": f"r-{order['order_id']}"},
            ),
            lambda r: r.status_code != 404,
        )
        assert refund.status_code == 202 and refund.json()["status"] == "pending"
        # another person sees none of it
        for path in (
            f"/v1/checkouts/{checkout_id}",
            f"/v1/orders/{order['order_id']}",
            f"/v1/checkouts/{checkout_id}/events",
        ):
            response = await bob.get(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
        assert (
            await bob.post(f"/v1/orders/{order['order_id']}/refunds", json={"reason": "mine now"})
        ).status_code == 404
        assert order["order_id"] not in {
            o["order_id"] for o in (await bob.get("/v1/orders")).json()["items"]
        }
        inbox = await eventually(
            lambda: _json(alice.get("/v1/notifications")),
            lambda i: any(n["template"] == "order_confirmation" for n in i["items"]),
        )
        assert inbox["items"]


async def _json(response: Any) -> Any:
    return (await response).json()


async def test_a_token_that_expires_while_remembered_is_refused(stack: ServiceStack) -> None:
    """The BFF remembers tokens it verified (`auth.VERIFIED`), and still refuses one the
    moment it expires."""
    import jwt

    await stack.ensure(*SERVICES)
    secret = stack.runtime("gateway-bff").settings.jwt_secret.get_secret_value()
    expires = int(time.time()) + 2
    claims = {"sub": f"t-{uuid.uuid4().hex[:8]}", "exp": expires, "iss": "agentshop"}
    token = jwt.encode(claims, secret, algorithm="HS256")
    client = stack.client("gateway-bff")
    async with closing(client):
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/cart", headers=headers)).status_code == 200
        await asyncio.sleep(max(expires - time.time(), 0) + 1.1)
        late = await client.get("/v1/cart", headers=headers)
        assert late.status_code == 401 and late.json()["error"]["code"] == "invalid_token"


async def test_bad_requests_get_a_reason_never_a_500(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    anonymous = stack.client("gateway-bff")
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(anonymous, alice):
        assert (await anonymous.get("/v1/cart")).json()["error"]["code"] == "unauthorized"
        forged = await anonymous.get("/v1/cart", headers={"Authorization": "Bearer not.a.token"})
        assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_token"
        wrong = await anonymous.post(
            "/v1/auth/token", json={"email": "alice@example.com", "password": "nope"}
        )
        assert wrong.status_code == 401
        cases = [
            ("/v1/cart/lines", {"sku": "BAT-AA-8", "quantity": "two"}, "quantity"),
            ("/v1/cart/lines", {"sku": "BAT-AA-8", "quantity": 1, "price_cents": 1}, "price_cents"),
            ("/v1/cart/lines", {"sku": "NO-SUCH-SKU", "quantity": 1}, None),
            (
                "/v1/checkouts",
                {
                    "shipping_address": {**HOME, "country": "usa"},
                    "payment_token": "t",
                    "expected_total_cents": 1,
                },
                "shipping_address.country",
            ),
            ("/v1/checkouts", {"payment_token": "t"}, "shipping_address"),
        ]
        for path, body, param in cases:
            response = await alice.post(path, json=body)
            assert 400 <= response.status_code < 500, (path, body, response.text)
            error = response.json()["error"]
            assert error["message"]
            if param:
                assert error["param"] == param, error
        huge = await alice.post(
            "/v1/cart/lines",
            content=b"{" + b'"x":1,' * 200_000 + b'"sku":"A"}',
            headers={"content-type": "application/json"},
        )
        assert 400 <= huge.status_code < 500
        garbage = await alice.post(
            "/v1/checkouts", content=b"not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 422
        landing = await anonymous.get("/")
        assert "agentshop" in landing.text and "/docs" in landing.text
        # the UI's link carries the port offset, like every other port
        assert f"http://localhost:{UI_PORT + stack.settings.port_offset}" in landing.text
        assert (await anonymous.get("/v1/products", params={"q": "cable"})).status_code == 200


async def test_a_place_the_shop_does_not_deliver_to_is_refused_before_anything_is_held(
    stack: ServiceStack,
) -> None:
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        await alice.post("/v1/cart/lines", json={"sku": "BAT-AA-8", "quantity": 1})
        alaska = {**HOME, "city": "Juneau", "region": "AK", "postal_code": "99801"}
        quoted = await alice.post("/v1/checkout/quote", json={"shipping_address": alaska})
        assert quoted.status_code == 422, quoted.text
        error = quoted.json()["error"]
        assert error["code"] == "unsupported_address" and "Alaska" in error["message"], error
        body = {"shipping_address": alaska, "payment_token": "tok_visa", "expected_total_cents": 1}
        started = await alice.post(
            "/v1/checkouts", json=body, headers={"Idempotency-Key": f"k-{uuid.uuid4()}"}
        )
        assert started.status_code == 422, started.text
        assert started.json()["error"]["code"] == "unsupported_address"
        # a place it serves is quoted as before
        home = await alice.post("/v1/checkout/quote", json={"shipping_address": HOME})
        assert home.status_code == 200, home.text
        await alice.delete("/v1/cart/lines/BAT-AA-8")


async def test_concurrent_replays_create_one_checkout(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        await carla.post("/v1/cart/lines", json={"sku": "NB-A5-BLA", "quantity": 1})
        total = (await carla.post("/v1/checkout/quote", json={"shipping_address": HOME})).json()[
            "totals"
        ]["total_cents"]
        body = {
            "shipping_address": HOME,
            "payment_token": "tok_visa",
            "expected_total_cents": total,
        }
        key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
        responses = await asyncio.gather(
            *(carla.post("/v1/checkouts", json=body, headers=key) for _ in range(5))
        )
        ids = {r.json()["checkout_id"] for r in responses if r.status_code == 202}
        assert len(ids) == 1
        assert all(r.status_code in (202, 409) for r in responses)


async def test_live_stream_ends_with_the_outcome(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        checkout_id = await start_checkout(carla, "COF-HOUSE-340")
        events = []
        async with carla.stream(
            "GET", f"/v1/checkouts/{checkout_id}/stream", timeout=60
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
    assert events[0] == "InitiateCheckoutCommand"
    assert "ReserveInventory" in events and "PaymentProcessed" in events
    assert events[-1] == "CheckoutCompleted"


async def test_rate_limit_and_cors(stack: ServiceStack, monkeypatch: pytest.MonkeyPatch) -> None:
    await stack.ensure("gateway-bff")
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob):
        monkeypatch.setattr(stack.runtime("gateway-bff").settings, "rate_limit_per_minute", 3)
        # buckets of their own, so later tests do not start with bob's emptied
        monkeypatch.setitem(stack.runtime("gateway-bff").slots, auth.LIMITER, auth.RateLimiter())
        statuses = [(await bob.get("/v1/me")).status_code for _ in range(6)]
        assert statuses.count(429) >= 2 and statuses[0] == 200
        limited = await bob.get("/v1/me")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        preflight = await bob.options(
            "/v1/cart",
            headers={"Origin": "http://localhost:8501", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.headers["access-control-allow-origin"] == "http://localhost:8501"
        stranger = await bob.options(
            "/v1/cart",
            headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in stranger.headers
