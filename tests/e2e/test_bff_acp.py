"""An outside agent buys through the Agentic Commerce Protocol's checkout sessions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import ADDRESS, API_VERSION, CAPABILITIES, agent_for, closing, conforms, pay

pytestmark = pytest.mark.integration
ATTRIBUTION = {
    "provider": "impact.com",
    "token": "atp_01J8Z3",
    "publisher_id": "pub_123",
    "touchpoint": "first",
}
RISK = {"ip_address": "203.0.113.7", "user_agent": "agent/1.0", "device_fingerprint": "fp_abc"}
GROUPS = [{"id": "fg_1", "item_ids": ["li_0"], "destination_type": "shipping"}]


async def get(agent: httpx.AsyncClient, session_id: str) -> Any:
    return (await agent.get(f"/checkout_sessions/{session_id}")).json()


@pytest.mark.parametrize(
    ("token", "outcome"), [("tok_visa", "completed"), ("tok_declined", "payment_declined")]
)
async def test_an_agent_buys_through_a_checkout_session(
    stack: ServiceStack, token: str, outcome: str
) -> None:
    await stack.ensure(*SERVICES)
    agent = await agent_for(stack, "alice@example.com", "alice-demo-pass")
    async with closing(agent):
        created = await agent.post(
            "/checkout_sessions",
            json={
                "line_items": [{"id": "CBL-USBC-2M-BLA", "quantity": 2}],
                "currency": "usd", "capabilities": CAPABILITIES, "quote_id": "q_123",
                "affiliate_attribution": ATTRIBUTION, "fulfillment_groups": GROUPS,
                "locale": "en-US", "timezone": "America/Los_Angeles", "metadata": {"campaign": "q4"},
            },
        )  # fmt: skip
        assert created.status_code == 201, created.text
        session = created.json()
        conforms(session, "CheckoutSession")
        assert session["status"] == "not_ready_for_payment"
        updated = (
            await agent.post(
                f"/checkout_sessions/{session['id']}",
                json={
                    "fulfillment_details": {"address": ADDRESS},
                    "discounts": {"codes": ["SAVE10"]},
                    "fulfillment_groups": GROUPS,
                    "selected_fulfillment_options": [
                        {"type": "shipping", "option_id": "standard", "item_ids": ["li_0"]}
                    ],
                },
            )
        ).json()
        conforms(updated, "CheckoutSession")
        assert updated["status"] == "ready_for_payment"
        totals = {t["type"]: t["amount"] for t in updated["totals"]}
        # 2 x 9.99 = 19.98 is under SAVE10's 20.00 minimum: the coupon is refused with a message, not an error
        assert (
            totals["subtotal"] == 1998
            and totals["discount"] == 0
            and totals["tax"] == 145
            and totals["fulfillment"] == 599
        )
        assert any(m.get("code") == "discount_code_minimum_not_met" for m in updated["messages"])
        completed = await agent.post(
            f"/checkout_sessions/{session['id']}/complete",
            json={**pay(token), "risk_signals": RISK, "affiliate_attribution": ATTRIBUTION,
                  "marketing_consents": [{"channel": "email", "opted_in": False}]},
        )  # fmt: skip
        if outcome == "completed":
            assert completed.status_code == 200, completed.text
            final = completed.json()
            assert final["status"] == "completed"
            conforms(final, "CheckoutSessionWithOrder", corrected=True)
            conforms({k: v for k, v in final.items() if k != "order"}, "CheckoutSession")
            assert "affiliate_attribution" not in final and final["quote_id"] == "q_123"
            order = (await agent.get(f"/v1/orders/{final['order']['id']}")).json()
            assert order["total_cents"] == totals["total"]
            assert (await get(agent, session["id"]))["order"] == final["order"]
        else:
            assert completed.status_code == 422, completed.text
            conforms(completed.json(), "Error")
            assert completed.json()["code"] == "payment_declined"
            final = await get(agent, session["id"])
            conforms(final, "CheckoutSession")
            assert any(m.get("code") == "payment_declined" for m in final["messages"])
        again = await agent.post(
            f"/checkout_sessions/{session['id']}",
            json={"line_items": [{"id": "CBL-USBC-2M-BLA", "quantity": 1}]},
        )
        assert again.status_code == 409
        conforms(again.json(), "Error")


async def test_sessions_are_private_validated_and_cancelable(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    alice = await agent_for(stack, "alice@example.com", "alice-demo-pass")
    bob = await agent_for(stack, "bob@example.com", "bob-demo-pass")
    async with closing(alice, bob):
        body = {
            "line_items": [
                {"id": "NO-SUCH-SKU", "quantity": 1},
                {"id": "HP-ANC-BLA", "quantity": 100000 // 100},
            ],
            "currency": "usd",
            "capabilities": CAPABILITIES,
        }
        session = (await alice.post("/checkout_sessions", json=body)).json()
        codes = {m.get("code") for m in session["messages"]}
        assert {"not_found", "out_of_stock"} <= codes
        assert (await bob.get(f"/checkout_sessions/{session['id']}")).status_code == 404
        bad = await alice.post("/checkout_sessions", json={**body, "surprise": True})
        assert bad.status_code == 422
        conforms(bad.json(), "Error")
        assert bad.json()["param"] == "$.surprise"
        not_ready = await alice.post(
            f"/checkout_sessions/{session['id']}/complete", json=pay("tok_visa")
        )
        assert not_ready.status_code == 409
        canceled = (await alice.post(f"/checkout_sessions/{session['id']}/cancel", json={})).json()
        conforms(canceled, "CheckoutSession")
        assert canceled["status"] == "canceled"


async def test_protocol_edges_answer_with_the_error_object(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    alice = await agent_for(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        for path in ("/checkout_sessions/load_0001", "/checkout_sessions/cs_" + "0" * 24):
            unknown = await alice.get(path)
            assert unknown.status_code == 404, unknown.text
            conforms(unknown.json(), "Error")
        malformed = await alice.post(
            "/checkout_sessions", content=b'{"line_items": [', headers={"content-type": "application/json"}
        )  # fmt: skip
        assert malformed.status_code == 400 and malformed.json()["code"] == "invalid_json"
        conforms(malformed.json(), "Error")
        body = {"line_items": [{"id": "BAT-AA-8"}], "currency": "usd", "capabilities": {}}
        keyless = await alice.post("/checkout_sessions", json=body, headers={"Idempotency-Key": ""})
        assert keyless.status_code == 400, keyless.text
        conforms(keyless.json(), "Error")
        async with httpx.AsyncClient(base_url=alice.base_url, headers={
            "Authorization": alice.headers["Authorization"], "API-Version": API_VERSION,
        }) as plain:  # fmt: skip
            bare = await plain.post("/checkout_sessions", json=body)
        assert bare.status_code == 400 and bare.json()["code"] == "idempotency_key_required"
        long_key = "k" * 255
        first = await alice.post(
            "/checkout_sessions", json=body, headers={"Idempotency-Key": long_key}
        )
        replay = await alice.post(
            "/checkout_sessions", json=body, headers={"Idempotency-Key": long_key}
        )
        assert first.status_code == replay.status_code == 201
        assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == first.json()
        other = await alice.post(
            "/checkout_sessions", json={**body, "locale": "fr-FR"}, headers={"Idempotency-Key": long_key}
        )  # fmt: skip
        assert other.status_code == 422 and other.json()["code"] == "idempotency_conflict"
        too_long = await alice.post(
            "/checkout_sessions", json=body, headers={"Idempotency-Key": "k" * 256}
        )
        assert too_long.status_code == 400
        old = await alice.post(
            "/checkout_sessions", json=body, headers={"API-Version": "2025-09-29"}
        )
        assert old.status_code == 400 and old.json()["code"] == "unsupported_api_version"
        conforms(old.json(), "Error")
        euro = (await alice.post("/checkout_sessions", json={**body, "currency": "eur"})).json()
        assert euro["status"] == "not_ready_for_payment"
        assert any(m.get("code") == "unsupported" for m in euro["messages"])
        for method, path, allow in [
            ("OPTIONS", "/checkout_sessions/" + euro["id"], "GET, POST"),
            ("DELETE", "/checkout_sessions", "POST"),
            ("GET", f"/checkout_sessions/{euro['id']}/complete", "POST"),
        ]:
            refused = await alice.request(method, path)
            assert refused.status_code == 405 and refused.headers["Allow"] == allow
            conforms(refused.json(), "Error")
