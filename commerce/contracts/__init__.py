"""Typed, versioned message contracts. Importing this package registers every message."""

from commerce.contracts import checkout, notifications, orders, refunds
from commerce.contracts.base import (
    REGISTRY,
    Command,
    Envelope,
    Event,
    Message,
    MessageError,
)
from commerce.contracts.topics import Topic, all_topic_names, dlq_topic

__all__ = [
    "REGISTRY",
    "Command",
    "Envelope",
    "Event",
    "Message",
    "MessageError",
    "Topic",
    "all_topic_names",
    "checkout",
    "dlq_topic",
    "notifications",
    "orders",
    "refunds",
]
