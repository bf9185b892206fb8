"""Notification requests on the shared `notifications` topic."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from commerce.contracts.base import Event
from commerce.contracts.topics import Topic

Channel = Literal["email", "sms", "push"]


class NotificationRequested(Event, topic=Topic.NOTIFICATIONS):
    notification_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    channel: Channel
    user_id: str
    recipient: str = Field(description="Email address, phone number or device/user id")
    template: str = Field(description="e.g. order_confirmation, refund_processed")
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)

    def partition_key(self) -> str | None:
        return self.user_id
