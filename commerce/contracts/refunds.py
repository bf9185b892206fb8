"""Refund messages (topics `refunds.command` / `refunds.events`)."""

from __future__ import annotations

import uuid

from pydantic import Field

from commerce.contracts.base import Command, Event
from commerce.contracts.money import allocate
from commerce.contracts.topics import Topic
from commerce.contracts.values import MAX_CENTS, Cents, CheckoutLine, Currency, Totals

# The reason the assistant gives the full refund that cancels an order ("cancel my order");
# what makes a refund a cancellation is its `cancels_order` flag, never its reason.
CANCELLATION_REASON = "order cancelled by the customer"


class RefundMessage:
    refund_id: uuid.UUID
    order_id: uuid.UUID

    def partition_key(self) -> str | None:
        return str(self.order_id)


class RefundPayment(RefundMessage, Command, topic=Topic.REFUNDS_COMMAND):
    """Ask the payment provider to refund part or all of a checkout's captured payment."""

    refund_id: uuid.UUID
    order_id: uuid.UUID
    checkout_id: uuid.UUID
    amount_cents: int = Field(gt=0, le=MAX_CENTS)
    currency: Currency
    reason: str
    cancels_order: bool = Field(
        False, description="The full refund of an order being cancelled (answered back as is)"
    )


class RefundSucceeded(RefundMessage, Event, topic=Topic.REFUNDS_EVENTS):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    checkout_id: uuid.UUID
    amount_cents: Cents
    currency: Currency
    cancels_order: bool = Field(
        False,
        description="The refund cancels the order: the order becomes cancelled and its stock "
        "goes back to inventory",
    )


class RefundFailed(RefundMessage, Event, topic=Topic.REFUNDS_EVENTS):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    checkout_id: uuid.UUID
    reason: str


# How much a refund returns, computed the same way by the refund service and its clients:
# each line's amount, less its share of the discount, plus its share of the tax (shares by
# the largest-remainder method); k of n units return floor(paid * k / n).


class RefundRefused(ValueError):
    pass


def paid_per_line(lines: list[CheckoutLine], totals: Totals) -> dict[str, dict[str, int]]:
    amounts = {line.sku: line.quantity * line.unit_price_cents for line in lines}
    discounts = allocate(totals.discount_cents, amounts)
    taxes = allocate(
        totals.tax_cents,
        {sku: amount - discounts[sku] for sku, amount in amounts.items()} or amounts,
    )
    quantities = {line.sku: line.quantity for line in lines}
    return {
        sku: {"quantity": quantities[sku], "paid_cents": amounts[sku] - discounts[sku] + taxes[sku]}
        for sku in amounts
    }


def amount_for_lines(paid: dict[str, dict[str, int]], wanted: dict[str, int]) -> int:
    total = 0
    for sku, quantity in wanted.items():
        line = paid.get(sku)
        if line is None:
            raise RefundRefused(f"{sku} is not part of this order")
        if quantity > line["quantity"]:
            raise RefundRefused(f"the order has only {line['quantity']} of {sku}")
        total += line["paid_cents"] * quantity // line["quantity"]
    return total
