"""Notification rules, free of I/O: templates, rendering, who can be reached, statuses.

A notification's status: recorded `sent` when there is nothing to deliver over the
network, `failed` with the reason (a bad recipient or an unknown template: never
retried), or `queued` for the email sender, which claims it (`sending`) in one short
transaction, sends after that commit, and records the outcome in another
(docs/adr/0032).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Any, Final, Literal

ChannelName = Literal["email", "sms", "push"]

TEMPLATES: dict[str, tuple[str, str]] = {
    "order_confirmation": ("Your order $order_ref is confirmed", "Thank you! Order $order_ref is confirmed. Total: $total."),
    "checkout_failed": ("Your checkout did not go through", "Your checkout did not go through: $reason"),
    "refund_processed": ("Your refund of $amount is on its way", "We refunded $amount for order $order_ref."),
    "refund_failed": ("We could not refund order $order_ref", "We could not refund order $order_ref: $reason"),
    "order_shipped": ("Order $order_ref has shipped", "Good news: order $order_ref is on its way."),
}  # fmt: skip
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SMS_LIMIT = 160

QUEUED: Final = "queued"
SENDING: Final = "sending"
SENT: Final = "sent"
FAILED: Final = "failed"


class InvalidNotification(ValueError):
    pass


def _money(cents: Any, currency: Any) -> str:
    return f"{int(cents) / 100:.2f} {currency or 'USD'}" if isinstance(cents, int) else "—"


def render(channel: str, template: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """(subject or title, body). SMS bodies are cut to 160 characters with an ellipsis."""
    if template not in TEMPLATES:
        raise InvalidNotification(f"unknown template {template!r}")
    values = {k: "" if v is None else str(v) for k, v in data.items()}
    values.setdefault("order_ref", str(data.get("order_id", ""))[:8])
    values["total"] = _money(data.get("total_cents"), data.get("currency"))
    values["amount"] = _money(data.get("amount_cents"), data.get("currency"))
    subject, body = (Template(t).safe_substitute(values) for t in TEMPLATES[template])
    if channel == "sms" and len(body) > SMS_LIMIT:
        body = body[: SMS_LIMIT - 1] + "…"
    return subject, body


def check_recipient(channel: str, recipient: str) -> None:
    if channel == "email" and not EMAIL.match(recipient):
        raise InvalidNotification(f"{recipient!r} is not an email address")
    if channel == "sms" and not E164.match(recipient):
        raise InvalidNotification(
            f"{recipient!r} is not a phone number in E.164 form (+15551234567)"
        )
    if channel == "push" and not recipient.strip():
        raise InvalidNotification("no device or user to push to")


@dataclass(frozen=True)
class Notification:
    """One notification asked for, on the topic or over HTTP."""

    notification_id: uuid.UUID
    user_id: str
    recipient: str
    template: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """What is recorded for a notification before anything is sent."""

    status: str
    failure_reason: str | None
    subject: str
    body: str


def prepare(channel: str, notification: Notification, *, delivers: bool) -> Prepared:
    """Check and render a notification: `failed` with the reason when it cannot be sent,
    `queued` when it goes out over the network after the commit (`delivers`: email with
    an SMTP host), `sent` otherwise."""
    try:
        check_recipient(channel, notification.recipient)
        subject, body = render(channel, notification.template, dict(notification.data))
    except InvalidNotification as exc:
        return Prepared(FAILED, str(exc), "", "")
    return Prepared(QUEUED if channel == "email" and delivers else SENT, None, subject, body)
