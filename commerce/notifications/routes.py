"""A notification service's HTTP API: send one, a user's inbox, one notification."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from commerce.notifications.domain import Notification
from commerce.notifications.handlers import Channel
from commerce.platform.service import RuntimeDep


class SendRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "user_123", "recipient": "alice@example.com", "template": "order_confirmation",
                                         "data": {"order_id": "8c1d2e3f", "total_cents": 2599, "currency": "USD"}}]},
    )  # fmt: skip
    notification_id: uuid.UUID | None = None
    user_id: str = Field(min_length=1, max_length=64)
    recipient: str = Field(max_length=254)
    template: str = Field(min_length=1, max_length=64)
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class NotificationPublic(BaseModel):
    notification_id: uuid.UUID
    user_id: str
    recipient: str
    template: str
    subject: str
    body: str
    status: str
    failure_reason: str | None
    created_at: datetime


class NotificationsPublic(BaseModel):
    items: list[NotificationPublic]


def make_router(channel: Channel) -> APIRouter:
    router = APIRouter(tags=["notifications"])

    @router.post(
        "/send",
        operation_id="notifications-send",
        response_model=NotificationPublic,
        status_code=202,
    )
    async def send(runtime: RuntimeDep, body: SendRequest) -> NotificationPublic:
        """Send (or record as failed, with the reason) one notification on this channel."""
        notification = Notification(
            notification_id=body.notification_id or uuid.uuid4(), user_id=body.user_id,
            recipient=body.recipient, template=body.template, data=body.data,
        )  # fmt: skip
        return NotificationPublic(**await channel.send(runtime, notification))

    @router.get(
        "/notifications", operation_id="notifications-list", response_model=NotificationsPublic
    )
    async def list_notifications(
        runtime: RuntimeDep,
        user_id: Annotated[str, Query(min_length=1, max_length=64)],
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> NotificationsPublic:
        """A user's inbox on this channel, newest first."""
        async with runtime.db.sessions() as session:
            rows = await channel.store(session).inbox(user_id, limit)
        return NotificationsPublic(items=[NotificationPublic(**r) for r in rows])

    @router.get(
        "/notifications/{notification_id}",
        operation_id="notifications-get",
        response_model=NotificationPublic,
    )
    async def get_notification(
        runtime: RuntimeDep, notification_id: uuid.UUID
    ) -> NotificationPublic:
        async with runtime.db.sessions() as session:
            row = await channel.store(session).get(notification_id)
        if row is None:
            raise HTTPException(404, detail="notification not found")
        return NotificationPublic(**row)

    return router
