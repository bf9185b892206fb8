"""Refund statuses are answered in lower case, like every status of the API, including those
of refunds stored in upper case before that rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from commerce.refund.routes import RefundPublic


def _refund(status: str) -> RefundPublic:
    return RefundPublic(
        refund_id=uuid.uuid4(), order_id=uuid.uuid4(), user_id="user_123", status=status,
        amount_cents=100, currency="USD", reason="r", failure_reason=None,
        created_at=datetime.now(UTC),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("stored", "answered"),
    [("PENDING", "pending"), ("SUCCEEDED", "succeeded"), ("FAILED", "failed"),
     ("pending", "pending"), ("succeeded", "succeeded")],
)  # fmt: skip
def test_stored_status_is_answered_in_lower_case(stored: str, answered: str) -> None:
    assert _refund(stored).status == answered
    assert _refund(stored).model_dump(mode="json")["status"] == answered


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValidationError):
        _refund("LOST")
