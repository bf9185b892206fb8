"""`card_network`, the payment's step before its transaction, reads the database only
for a card whose answer takes time (or a delegated token, which stands for one)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from commerce.contracts.checkout import ProcessPayment
from commerce.payment.handlers import card_network
from commerce.platform.settings import PaymentSettings


class _NoDatabase:
    def reads(self) -> Any:
        raise AssertionError("an instant card needs no read")


def _charge(token: str) -> ProcessPayment:
    return ProcessPayment(
        checkout_id=uuid.uuid4(), user_id="u1", amount_cents=1299, currency="USD",
        payment_token=token,
    )  # fmt: skip


@pytest.mark.parametrize("token", ["tok_visa", "tok_declined", "not-a-token", "tok_other"])
async def test_a_card_that_answers_at_once_is_not_read_for(token: str) -> None:
    runtime: Any = SimpleNamespace(
        settings=SimpleNamespace(payment=PaymentSettings()), db=_NoDatabase()
    )
    await card_network(_charge(token), runtime)


@pytest.mark.parametrize("token", ["tok_slow", "vt_abc"])
async def test_a_slow_card_or_a_delegated_token_is_looked_up(token: str) -> None:
    runtime: Any = SimpleNamespace(
        settings=SimpleNamespace(payment=PaymentSettings()), db=_NoDatabase()
    )
    with pytest.raises(AssertionError, match="no read"):
        await card_network(_charge(token), runtime)
