"""How the simulated provider decides, free of I/O: a charge, answering a re-sent one,
what a compensation or a refund may return, and what a delegated token may pay for."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from commerce.contracts.checkout import PaymentFailed, PaymentProcessed


class Status(StrEnum):
    CAPTURED = "captured"
    DECLINED = "declined"
    VOIDED = "voided"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class Decision:
    approved: bool
    code: str = ""
    reason: str = ""
    delay_seconds: float = 0.0


ALWAYS_APPROVED = {"tok_visa", "tok_success", "tok_mastercard"}
DECLINES = {
    "tok_declined": ("declined", "Your card was declined."),
    "tok_insufficient_funds": ("insufficient_funds", "Your card has insufficient funds."),
    "tok_error": ("processor_error", "The payment processor could not be reached."),
}


def decide(
    token: str, checkout_id: uuid.UUID, *, success_rate: float, slow_seconds: float
) -> Decision:
    """Test tokens decide deterministically; any other token succeeds at `success_rate`,
    drawn from a generator seeded with the checkout id (so a re-send decides the same)."""
    if token in ALWAYS_APPROVED:
        return Decision(True)
    if token == "tok_slow":
        return Decision(True, delay_seconds=slow_seconds)
    if token in DECLINES:
        code, reason = DECLINES[token]
        return Decision(False, code, reason)
    if not token.startswith("tok_"):
        return Decision(False, "invalid_token", "The payment token is not valid.")
    if random.Random(checkout_id.int).random() < success_rate:
        return Decision(True)
    return Decision(False, "declined", "Your card was declined.")


def refundable(captured: int, refunded: int) -> int:
    return max(captured - refunded, 0)


def status_after_refund(captured: int, refunded: int) -> Status:
    return Status.REFUNDED if refunded >= captured else Status.PARTIALLY_REFUNDED


@dataclass(frozen=True)
class Payment:
    """A checkout's payment as stored."""

    payment_id: uuid.UUID
    checkout_id: uuid.UUID
    status: str
    currency: str
    captured_cents: int = 0
    refunded_cents: int = 0
    failure_code: str | None = None
    failure_reason: str | None = None

    @property
    def refundable_cents(self) -> int:
        return refundable(self.captured_cents, self.refunded_cents)


def answer_again(existing: Payment) -> PaymentFailed | PaymentProcessed:
    """A re-sent ProcessPayment is answered as before: never charged twice."""
    if existing.status == Status.VOIDED:
        return PaymentFailed(
            checkout_id=existing.checkout_id, code="declined", reason="The checkout was cancelled."
        )
    if existing.status == Status.DECLINED:
        return PaymentFailed(
            checkout_id=existing.checkout_id,
            code=existing.failure_code or "declined",
            reason=existing.failure_reason or "Your card was declined.",
        )
    return PaymentProcessed(
        checkout_id=existing.checkout_id,
        payment_id=existing.payment_id,
        amount_cents=existing.captured_cents,
        currency=existing.currency,
    )


def refund_refusal(existing: Payment | None, amount_cents: int) -> str | None:
    """Why a refund of `amount_cents` cannot be made, or None when it can."""
    available = 0
    if existing is not None and existing.status in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
        available = existing.refundable_cents
    if existing is None or amount_cents > available:
        if existing is None or available == 0:
            return "No captured payment for this order."
        return f"Only {available} cents can still be refunded."
    return None


@dataclass(frozen=True)
class DelegatedToken:
    """A delegated token (`vt_…`) as stored: what it was redeemed for and allows."""

    status: str
    checkout_id: uuid.UUID | None
    max_amount_cents: int
    currency: str
    outcome: str


INVALID_DELEGATED = Decision(
    False, "invalid_token", "This payment token cannot pay for this checkout."
)


def delegated_charge(
    token: DelegatedToken | None, checkout_id: uuid.UUID, amount_cents: int, currency: str
) -> str | None:
    """The test token a delegated token charges as, or None when it cannot pay: it pays
    only for the checkout it was redeemed for, within its allowance."""
    if (
        token is None or token.status != "redeemed" or token.checkout_id != checkout_id
        or amount_cents > token.max_amount_cents or currency.lower() != token.currency.lower()
    ):  # fmt: skip
        return None
    return token.outcome


# -- delegated payment (the Agentic Commerce Protocol's delegate_payment) --------------------

CARD_OUTCOMES = {  # the simulated provider's test cards, by the outcome token they stand for
    "4000000000000002": "tok_declined",
    "4000000000009995": "tok_insufficient_funds",
}


def luhn_valid(number: str) -> bool:
    """The card number's check digit is right (12 to 19 digits)."""
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_outcome(number: str) -> str:
    """The test token a delegated card charges as: decline cards decline, others approve."""
    return CARD_OUTCOMES.get(number, "tok_visa")


@dataclass(frozen=True)
class Allowance:
    max_amount_cents: int
    currency: str
    merchant_id: str
    checkout_session_id: str
    expires_at: datetime


@dataclass(frozen=True)
class Use:
    amount_cents: int
    currency: str
    merchant_id: str
    checkout_session_id: str
    at: datetime


def refusal(status: str, allowance: Allowance, use: Use) -> tuple[str, str] | None:
    """Why a delegated token cannot pay for `use` (code, reason), or None when it can.
    Codes are the protocol's message codes."""
    if status != "active":
        return "invalid", "This payment token was already used; each token pays once."
    if use.at >= allowance.expires_at:
        return "expired", "This payment token's allowance has expired."
    if use.checkout_session_id != allowance.checkout_session_id:
        return "invalid", "This payment token was issued for another checkout session."
    if use.merchant_id != allowance.merchant_id:
        return "invalid", "This payment token was issued for another merchant."
    if use.currency.lower() != allowance.currency.lower():
        return "invalid", f"This payment token allows {allowance.currency}, not {use.currency}."
    if use.amount_cents > allowance.max_amount_cents:
        return "maximum_exceeded", (
            f"The total {use.amount_cents} is over this payment token's allowance of "
            f"{allowance.max_amount_cents}."
        )
    return None
