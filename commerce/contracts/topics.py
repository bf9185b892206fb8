"""Kafka topics. Names come from the roadmap; every consumed topic has a `<topic>.dlq`."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    INITIATE_CHECKOUT = "checkout.initiate-command"
    INVENTORY_COMMAND = "checkout.inventory-command"
    PAYMENT_COMMAND = "checkout.payment-command"
    ORDER_COMMAND = "checkout.order-command"
    CART_COMMAND = "checkout.cart-command"
    CHECKOUT_EVENTS = "checkout.checkout-events"
    NOTIFICATIONS = "notifications"
    REFUNDS_COMMAND = "refunds.command"
    REFUNDS_EVENTS = "refunds.events"
    ORDER_EVENTS = "orders.events"

    @property
    def dlq(self) -> str:
        return dlq_topic(self.value)


DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return topic + DLQ_SUFFIX


def all_topic_names() -> list[str]:
    """Every topic the system uses, dead-letter topics included."""
    return [t.value for t in Topic] + [t.dlq for t in Topic]
