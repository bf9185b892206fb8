"""The simulated provider's decisions without I/O (they were tested only through the
broker and the database before): test tokens, seeded approvals, refund amounts."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.payment.domain import Decision, Status, decide, refundable, status_after_refund


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
