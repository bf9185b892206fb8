"""An outside agent pays with a delegated payment token (the protocol's delegate_payment):
single use, bounded by its allowance, and the card number stays out of logs, events and
the BFF's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import ADDRESS, CAPABILITIES, agent_for, closing, conforms, pay

pytestmark = pytest.mark.integration
CARD = "4000056655665556"  # a test Visa debit number (Luhn-valid), distinctive in any dump
DECLINED_CARD = "4000000000000002"


def delegation(session_id: str, max_amount: int, *, number: str = CARD, expires_in: float = 3600,
               merchant: str = "agentshop") -> dict[str, Any]:  # fmt: skip
    expires = datetime.now(UTC) + timedelta(seconds=expires_in)
    return {
        "payment_method": {
            "type": "card", "card_number_type": "fpan", "number": number, "exp_month": "11",
            "exp_year": "2030", "name": "Alice Martin", "cvc": "223", "display_card_funding_type": "debit",
            "display_brand": "visa", "display_last4": number[-4:], "metadata": {},
        },
        "allowance": {
            "reason": "one_time", "max_amount": max_amount, "currency": "usd",
            "checkout_session_id": session_id, "merchant_id": merchant,
            "expires_at": expires.isoformat().replace("+00:00", "Z"),
        },
        "risk_signals": [{"type": "card_testing", "score": 3, "action": "authorized"}],
        "metadata": {"source": "agent_checkout"},
    }  # fmt: skip


async def ready_session(agent: httpx.AsyncClient) -> tuple[str, int]:
    created = await agent.post(
        "/checkout_sessions",
        json={"line_items": [{"id": "BAT-AA-8", "quantity": 1}], "currency": "usd",
              "capabilities": CAPABILITIES, "fulfillment_details": {"address": ADDRESS}},
    )  # fmt: skip
    session = created.json()
    assert session["status"] == "ready_for_payment", session
    total = next(t["amount"] for t in session["totals"] if t["type"] == "total")
    return session["id"], total


async def token(agent: httpx.AsyncClient, body: dict[str, Any]) -> str:
    answer = await agent.post("/agentic_commerce/delegate_payment", json=body)
    assert answer.status_code == 201, answer.text
    conforms_delegate(answer.json(), "DelegatePaymentResponse")
    return str(answer.json()["id"])


def conforms_delegate(body: Any, schema: str) -> None:
    from commerce.contracts.acp import DELEGATE_PAYMENT, validator

    validator(schema, DELEGATE_PAYMENT).validate(body)


async def every_row(stack: ServiceStack, service: str) -> str:
    """Every row of every table of a service's database, as text."""
    runtime = stack.runtime(service)
    async with runtime.db.sessions() as session:
        tables = (
            await session.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            )
        ).scalars()
        dump = []
        for table in list(tables):
            rows = await session.execute(text(f'SELECT t::text FROM "{table}" t'))
            dump.extend(rows.scalars())
    return "\n".join(dump)


async def test_an_agent_pays_with_a_single_use_allowance_bounded_token(
    stack: ServiceStack, capfd: pytest.CaptureFixture[str]
) -> None:
    await stack.ensure(*SERVICES)
    agent = await agent_for(stack, "carla@example.com", "carla-demo-pass")
    async with closing(agent):
        session_id, total = await ready_session(agent)
        other_id, other_total = await ready_session(agent)

        async def refused(session: str, vt: str, code: str) -> None:
            answer = await agent.post(f"/checkout_sessions/{session}/complete", json=pay(vt))
            assert answer.status_code == 422, answer.text
            conforms(answer.json(), "Error")
            assert answer.json()["code"] == code, answer.json()

        await refused(
            session_id, await token(agent, delegation(session_id, total - 1)), "maximum_exceeded"
        )
        await refused(session_id, await token(agent, delegation(other_id, total)), "invalid")
        await refused(
            session_id,
            await token(agent, delegation(session_id, total, merchant="elsewhere")),
            "invalid",
        )
        await refused(
            session_id, await token(agent, delegation(session_id, total, expires_in=-1)), "expired"
        )
        await refused(session_id, "vt_000000000000000000000000", "invalid")

        body = delegation(session_id, total + 100)
        vt = await token(agent, body)
        replay = await agent.post(
            "/agentic_commerce/delegate_payment", json=body, headers={"Idempotency-Key": "same"}
        )
        again = await agent.post(
            "/agentic_commerce/delegate_payment", json=body, headers={"Idempotency-Key": "same"}
        )
        assert replay.status_code == again.status_code == 201
        assert (
            again.json()["id"] == replay.json()["id"]
            and again.headers["Idempotent-Replayed"] == "true"
        )
        bad = await agent.post("/agentic_commerce/delegate_payment", json={**body, "payment_method": {
            **body["payment_method"], "number": "4000056655665557"}})  # fmt: skip
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_card"
        conforms_delegate(bad.json(), "Error")

        paid = await agent.post(f"/checkout_sessions/{session_id}/complete", json=pay(vt))
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "completed" and paid.json()["order"]["id"]
        # used once: the same token cannot pay for anything else
        await refused(other_id, vt, "invalid")
        async with stack.client("payment-gateway") as payments:
            checkout_id = (await payments.get("/payments", params={"user_id": "user_789"})).json()[
                "items"
            ][0]["checkout_id"]
            twice = await payments.post(
                f"/delegated-tokens/{vt}/redeem",
                json={"checkout_id": checkout_id, "checkout_session_id": session_id,
                      "merchant_id": "agentshop", "amount_cents": total, "currency": "usd"},
            )  # fmt: skip
            assert twice.status_code == 422 and twice.json()["detail"]["code"] == "invalid"
            payment = (await payments.get(f"/payments/{checkout_id}")).json()
            assert payment["status"] == "captured" and payment["captured_cents"] == total

        # a card that declines: the token is spent, the saga fails with payment_declined
        declined = await token(agent, delegation(other_id, other_total, number=DECLINED_CARD))
        await refused(other_id, declined, "payment_declined")

    dumps = {
        name: await every_row(stack, name)
        for name in ("gateway-bff", "payment-gateway", "checkout-orchestrator", "order")
    }
    logs = capfd.readouterr()
    assert vt in dumps["payment-gateway"]  # the charge names the token, never the card
    for where, content in [*dumps.items(), ("logs", logs.out + logs.err)]:
        assert CARD not in content, f"the card number reached {where}"
        assert DECLINED_CARD not in content, f"the card number reached {where}"
