"""Delegated payment tokens: which uses an allowance refuses, and how cards decide."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from commerce.payment.domain import Allowance, Use, card_outcome, luhn_valid, refusal

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ALLOWANCE = Allowance(2526, "usd", "agentshop", "cs_abc", NOW + timedelta(minutes=5))
USE = Use(2526, "USD", "agentshop", "cs_abc", NOW)


def test_a_use_within_the_allowance_is_allowed_once() -> None:
    assert refusal("active", ALLOWANCE, USE) is None
    assert refusal("redeemed", ALLOWANCE, USE) == (
        "invalid", "This payment token was already used; each token pays once."
    )  # fmt: skip


@pytest.mark.parametrize(
    ("use", "code"),
    [
        (replace(USE, amount_cents=2527), "maximum_exceeded"),
        (replace(USE, at=NOW + timedelta(minutes=5)), "expired"),
        (replace(USE, checkout_session_id="cs_other"), "invalid"),
        (replace(USE, merchant_id="elsewhere"), "invalid"),
        (replace(USE, currency="EUR"), "invalid"),
    ],
)
def test_uses_outside_the_allowance_are_refused(use: Use, code: str) -> None:
    refused = refusal("active", ALLOWANCE, use)
    assert refused is not None and refused[0] == code


def test_card_numbers_are_checked_and_decide_as_test_cards() -> None:
    assert luhn_valid("4242424242424242") and luhn_valid("4000056655665556")
    assert (
        not luhn_valid("4242424242424241")
        and not luhn_valid("42424242")
        and not luhn_valid("4242-4242")
    )
    assert card_outcome("4000000000000002") == "tok_declined"
    assert card_outcome("4242424242424242") == "tok_visa"
