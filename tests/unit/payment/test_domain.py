"""The simulated provider's decisions without I/O (they were tested only through the
broker and the database before): test tokens, seeded approvals, refund amounts."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.contracts.checkout import PaymentFailed, PaymentProcessed
from commerce.payment.domain import (
    Decision,
    DelegatedToken,
    Payment,
    Status,
    answer_again,
    decide,
    delegated_charge,
    refund_refusal,
    refundable,
    status_after_refund,
)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("tok_visa", Decision(True)),
        ("tok_success", Decision(True)),
        ("tok_mastercard", Decision(True)),
        ("tok_slow", Decision(True, delay_seconds=2.5)),
        ("tok_declined", Decision(False, "declined", "Your card was declined.")),
        ("tok_insufficient_funds", Decision(False, "insufficient_funds", "Your card has insufficient funds.")),
        ("tok_error", Decision(False, "processor_error", "The payment processor could not be reached.")),
        ("visa", Decision(False, "invalid_token", "The payment token is not valid.")),
    ],
)  # fmt: skip
def test_test_tokens_decide_the_same_whatever_the_rate(token: str, expected: Decision) -> None:
    for rate in (0.0, 1.0):
        assert decide(token, uuid.uuid4(), success_rate=rate, slow_seconds=2.5) == expected


@given(st.uuids(), st.floats(0, 1))
def test_other_tokens_decide_the_same_on_every_resend(checkout_id: uuid.UUID, rate: float) -> None:
    first = decide("tok_other", checkout_id, success_rate=rate, slow_seconds=0)
    assert decide("tok_other", checkout_id, success_rate=rate, slow_seconds=0) == first
    assert first in (Decision(True), Decision(False, "declined", "Your card was declined."))
    assert decide("tok_other", checkout_id, success_rate=1.0, slow_seconds=0).approved
    assert not decide("tok_other", checkout_id, success_rate=0.0, slow_seconds=0).approved


def test_the_success_rate_is_the_share_approved() -> None:
    ids = [uuid.UUID(int=n * 7919) for n in range(2000)]
    approved = sum(decide("tok_x", i, success_rate=0.9, slow_seconds=0).approved for i in ids)
    assert 1700 <= approved <= 1900


@given(st.integers(0, 10**8), st.integers(0, 10**8))
def test_never_more_is_refundable_than_was_captured(captured: int, refunded: int) -> None:
    left = refundable(captured, refunded)
    assert 0 <= left <= captured
    assert left == 0 or refunded + left == captured
    assert status_after_refund(captured, refunded) is (
        Status.REFUNDED if refunded >= captured else Status.PARTIALLY_REFUNDED
    )


CHECKOUT = uuid.UUID(int=42)
PAYMENT = uuid.UUID(int=43)


def _payment(status: str, captured: int = 1000, refunded: int = 0, **failure: str) -> Payment:
    return Payment(PAYMENT, CHECKOUT, status, "USD", captured, refunded, **failure)


def test_a_resent_charge_is_answered_as_before() -> None:
    assert answer_again(_payment("captured")) == PaymentProcessed(
        checkout_id=CHECKOUT, payment_id=PAYMENT, amount_cents=1000, currency="USD"
    )
    assert answer_again(_payment("voided", 0)) == PaymentFailed(
        checkout_id=CHECKOUT, code="declined", reason="The checkout was cancelled."
    )
    declined = _payment(
        "declined", 0, failure_code="insufficient_funds", failure_reason="No funds."
    )
    assert answer_again(declined) == PaymentFailed(
        checkout_id=CHECKOUT, code="insufficient_funds", reason="No funds."
    )
    assert answer_again(_payment("declined", 0)) == PaymentFailed(
        checkout_id=CHECKOUT, code="declined", reason="Your card was declined."
    )


@pytest.mark.parametrize(
    ("existing", "amount", "refusal"),
    [
        (None, 100, "No captured payment for this order."),
        (_payment("captured"), 1000, None),
        (_payment("partially_refunded", refunded=400), 600, None),
        (_payment("partially_refunded", refunded=400), 601, "Only 600 cents can still be refunded."),
        (_payment("refunded", refunded=1000), 1, "No captured payment for this order."),
        (_payment("voided", 0), 1, "No captured payment for this order."),
        (_payment("declined", 0), 1, "No captured payment for this order."),
    ],
)  # fmt: skip
def test_a_refund_never_returns_more_than_is_left(
    existing: Payment | None, amount: int, refusal: str | None
) -> None:
    assert refund_refusal(existing, amount) == refusal


def test_a_delegated_token_pays_only_what_it_was_redeemed_for() -> None:
    token = DelegatedToken("redeemed", CHECKOUT, 5000, "usd", "tok_declined")
    assert delegated_charge(token, CHECKOUT, 5000, "USD") == "tok_declined"
    assert delegated_charge(token, CHECKOUT, 5001, "USD") is None
    assert delegated_charge(token, uuid.uuid4(), 100, "USD") is None
    assert delegated_charge(token, CHECKOUT, 100, "EUR") is None
    assert delegated_charge(None, CHECKOUT, 100, "USD") is None
    active = DelegatedToken("active", CHECKOUT, 5000, "usd", "tok_visa")
    assert delegated_charge(active, CHECKOUT, 100, "USD") is None
