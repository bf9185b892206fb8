"""How the simulated provider decides, free of I/O."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from enum import StrEnum


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
