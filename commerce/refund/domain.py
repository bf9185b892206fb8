"""The refund rules, free of I/O.

How much a refund returns: what each line cost the customer is its amount, less its
share of the discount, plus its share of the tax — shares split in proportion to line
amounts by the largest-remainder method, so the lines add up exactly to
subtotal - discount + tax. Refunding k of n units of a line returns floor(paid * k / n).
Shipping is returned only by a full refund. A refund never takes more than what is left
(total - refunded - pending). A cancellation is the refund of all that is left, made
only while no other refund of the order is pending.

A refund is `pending` until payment-gateway answers; it settles once, as `succeeded`
(the amount counts as refunded) or `failed` (the amount is released).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from commerce.contracts.refunds import RefundRefused, amount_for_lines, paid_per_line

__all__ = [
    "FAILED",
    "PENDING",
    "SUCCEEDED",
    "RefundRefused",
    "RefundStatus",
    "RefundableOrder",
    "Settlement",
    "amount_for_lines",
    "amount_to_refund",
    "cancellation_refusal",
    "check_amount",
    "paid_per_line",
    "settle",
]

# One casing for every status of the API: lower case. Refunds stored before this rule say
# PENDING/SUCCEEDED/FAILED; they are read case-insensitively and answered in lower case.
RefundStatus = Literal["pending", "succeeded", "failed"]
PENDING: Final = "pending"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"


@dataclass(frozen=True)
class RefundableOrder:
    """What the refund service knows of a completed order."""

    total_cents: int
    refunded_cents: int
    pending_cents: int
    lines: Mapping[str, Mapping[str, int]]  # sku -> {quantity, paid_cents}

    @property
    def left_cents(self) -> int:
        return self.total_cents - self.refunded_cents - self.pending_cents


def check_amount(amount: int, *, total: int, refunded: int, pending: int) -> None:
    left = total - refunded - pending
    if amount <= 0:
        raise RefundRefused("there is nothing to refund")
    if amount > left:
        raise RefundRefused(f"only {left / 100:.2f} can still be refunded on this order")


def amount_to_refund(
    order: RefundableOrder, *, lines: Mapping[str, int] | None, amount_cents: int | None
) -> int:
    """The amount of a refund of some lines, of an amount, or (neither) of all that is
    left; `RefundRefused` when it cannot be refunded."""
    if lines:
        amount = amount_for_lines(
            {sku: dict(line) for sku, line in order.lines.items()}, dict(lines)
        )
    elif amount_cents:
        amount = amount_cents
    else:
        amount = order.left_cents
    check_amount(
        amount, total=order.total_cents, refunded=order.refunded_cents, pending=order.pending_cents
    )
    return amount


def cancellation_refusal(order: RefundableOrder) -> None:
    """A cancellation refunds all that is left of an order at once; `RefundRefused` while
    another refund of it is still pending (its outcome would decide what is left)."""
    if order.pending_cents:
        raise RefundRefused(
            "another refund of this order is still pending; cancel it once that one is settled"
        )


@dataclass(frozen=True)
class Settlement:
    """How payment-gateway's answer changes a pending refund and its order."""

    status: RefundStatus
    failure_reason: str | None
    pending_delta_cents: int  # taken off the order's pending amount
    refunded_delta_cents: int  # added to the order's refunded amount
    template: str  # of the notification to the customer


def settle(
    stored_status: str, amount_cents: int, succeeded: bool, failure: str | None
) -> Settlement | None:
    """The settlement of a refund stored with `stored_status`; None when it is settled
    already (a redelivery)."""
    if stored_status.lower() != PENDING:
        return None
    return Settlement(
        status=SUCCEEDED if succeeded else FAILED,
        failure_reason=failure,
        pending_delta_cents=-amount_cents,
        refunded_delta_cents=amount_cents if succeeded else 0,
        template="refund_processed" if succeeded else "refund_failed",
    )
