"""Order events (topic `orders.events`): every change of an order's status after it was created."""

from __future__ import annotations

import uuid

from commerce.contracts.base import Event
from commerce.contracts.topics import Topic
from commerce.contracts.values import Cents, Currency


class OrderStatusChanged(Event, topic=Topic.ORDER_EVENTS):
    """An order moved from one status to another (confirmed, shipped, delivered, cancelled,
    refunded, partially_refunded), with its money as it stands after the change."""

    order_id: uuid.UUID
    checkout_id: uuid.UUID
    from_status: str
    status: str
    reason: str | None = None
    total_cents: Cents
    refunded_cents: Cents
    currency: Currency

    def partition_key(self) -> str | None:
        return str(self.order_id)
