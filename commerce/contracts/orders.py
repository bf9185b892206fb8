"""Order events (topic `orders.events`): every change of an order's status after it was
created; and what the order service asks of inventory when a sold order is cancelled."""

from __future__ import annotations

import uuid

from pydantic import Field

from commerce.contracts.base import Command, Event
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


class RestockInventory(Command, topic=Topic.INVENTORY_COMMAND):
    """A sold order was cancelled: put its checkout's stock back on the shelf.

    Units committed return to on hand and a hold not committed yet is released. Inventory
    does it once per checkout, whatever the redeliveries; a checkout whose stock was never
    taken changes nothing."""

    checkout_id: uuid.UUID
    order_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)

    def partition_key(self) -> str | None:
        return str(self.checkout_id)
