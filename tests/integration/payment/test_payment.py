"""payment-gateway against the real broker and database."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import structlog

from commerce.contracts.checkout import (
    CompensatePayment,
    PaymentFailed,
    PaymentProcessed,
    PaymentRefunded,
    ProcessPayment,
)
from commerce.contracts.refunds import RefundPayment
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually, send, wait_for_event

pytestmark = pytest.mark.integration


def charge(checkout: uuid.UUID, token: str, amount: int = 2599) -> ProcessPayment:
    return ProcessPayment(
        checkout_id=checkout,
        user_id="user_123",
        amount_cents=amount,
        currency="USD",
        payment_token=token,
    )


async def payment(stack: ServiceStack, checkout: uuid.UUID) -> dict[str, Any]:
    async with stack.client("payment-gateway") as http:
        response = await http.get(f"/payments/{checkout}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.mark.parametrize(
    ("token", "code"),
    [
        ("tok_visa", None),
        ("tok_slow", None),  # its delay is spent before the transaction (docs/adr/0032)
        ("tok_declined", "declined"),
        ("tok_insufficient_funds", "insufficient_funds"),
        ("not-a-token", "invalid_token"),
    ],
)
async def test_test_tokens_decide_the_outcome(
    stack: ServiceStack, infra: Any, producer: Any, token: str, code: str | None
) -> None:
    await stack.ensure("payment-gateway")
    checkout = uuid.uuid4()
    await send(producer, charge(checkout, token))
    events = await wait_for_event(infra, checkout, PaymentProcessed, PaymentFailed)
    if code is None:
        assert isinstance(events[-1], PaymentProcessed) and events[-1].amount_cents == 2599
        assert (await payment(stack, checkout))["captured_cents"] == 2599
    else:
        assert isinstance(events[-1], PaymentFailed) and events[-1].code == code
        assert (await payment(stack, checkout))["captured_cents"] == 0


async def test_a_resent_charge_never_charges_twice(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("payment-gateway")
    checkout = uuid.uuid4()
    for _ in range(3):  # three commands with different message ids
        await send(producer, charge(checkout, "tok_success"))
    events = await eventually(
        lambda: wait_for_event(infra, checkout, PaymentProcessed),
        lambda evs: len(evs) == 3,
    )
    assert len({e.payment_id for e in events if isinstance(e, PaymentProcessed)}) == 1
    body = await payment(stack, checkout)
    assert [e["kind"] for e in body["ledger"]] == ["authorize", "capture"]


async def test_compensation_refunds_once_and_says_so(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("payment-gateway")
    checkout = uuid.uuid4()
    await send(producer, charge(checkout, "tok_visa", amount=1000))
    await wait_for_event(infra, checkout, PaymentProcessed)
    with structlog.testing.capture_logs() as logs:
        for _ in range(2):
            await send(producer, CompensatePayment(checkout_id=checkout, reason="order failed"))
        events = await eventually(
            lambda: wait_for_event(infra, checkout, PaymentRefunded),
            lambda evs: sum(isinstance(e, PaymentRefunded) for e in evs) == 2,
        )
    refunds = [e.amount_cents for e in events if isinstance(e, PaymentRefunded)]
    assert sorted(refunds) == [0, 1000]
    body = await payment(stack, checkout)
    assert body["refunded_cents"] == 1000 and body["status"] == "refunded"
    assert [e["kind"] for e in body["ledger"]] == ["authorize", "capture", "refund"]
    assert any(entry["event"] == f"Refund processed for saga {checkout}" for entry in logs)


async def test_compensation_before_the_charge_blocks_it(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("payment-gateway")
    checkout = uuid.uuid4()
    await send(producer, CompensatePayment(checkout_id=checkout, reason="timed out"))
    await wait_for_event(infra, checkout, PaymentRefunded)
    await send(producer, charge(checkout, "tok_visa"))
    events = await wait_for_event(infra, checkout, PaymentFailed)
    assert "cancelled" in events[-1].reason  # type: ignore[attr-defined]
    assert (await payment(stack, checkout))["captured_cents"] == 0


async def test_partial_refunds_never_exceed_the_capture(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("payment-gateway")
    checkout, order = uuid.uuid4(), uuid.uuid4()
    await send(producer, charge(checkout, "tok_visa", amount=3000))
    await wait_for_event(infra, checkout, PaymentProcessed)
    first, second, too_much = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for refund_id, amount in ((first, 1200), (first, 1200), (second, 1000), (too_much, 900)):
        await send(
            producer,
            RefundPayment(
                refund_id=refund_id,
                order_id=order,
                checkout_id=checkout,
                amount_cents=amount,
                currency="USD",
                reason="return",
            ),
        )
    body = await eventually(lambda: payment(stack, checkout), lambda b: b["refunded_cents"] == 2200)
    assert body["status"] == "partially_refunded"
    assert [e["amount_cents"] for e in body["ledger"] if e["kind"] == "refund"] == [1200, 1000]
