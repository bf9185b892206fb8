"""Refund messages (topics `refunds.command` / `refunds.events`)."""

from __future__ import annotations

import uuid

from pydantic import Field

from commerce.contracts.base import Command, Event
from commerce.contracts.topics import Topic
from commerce.contracts.values import MAX_CENTS, Cents, Currency

# The reason of the full refund that cancels an order (the assistant's "cancel my order");
# the web UI shows such an order as Cancelled.
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


class RefundSucceeded(RefundMessage, Event, topic=Topic.REFUNDS_EVENTS):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    checkout_id: uuid.UUID
    amount_cents: Cents
    currency: Currency


class RefundFailed(RefundMessage, Event, topic=Topic.REFUNDS_EVENTS):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    checkout_id: uuid.UUID
    reason: str
