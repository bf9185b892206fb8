"""The declaration of a notification service: email-service, sms-service and push-service
are one codebase with one database each (`email.py`, `sms.py`, `push.py`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from commerce.contracts.notifications import NotificationRequested
from commerce.notifications.domain import ChannelName
from commerce.notifications.handlers import Channel
from commerce.notifications.routes import make_router
from commerce.notifications.tables import channel_metadata
from commerce.platform.consumer import Handler
from commerce.platform.service import Service


def make_service(channel: ChannelName, name: str, migrations: Path) -> tuple[Service, MetaData]:
    metadata = channel_metadata()
    handler = Channel(channel, name, metadata)
    service = Service(
        name=name,
        title=f"agentshop {name}",
        metadata=metadata,
        migrations=migrations,
        router=make_router(handler),
        handlers=[Handler(NotificationRequested, handler.handle, wanted=handler.ours)],
        background=[handler.sender] if channel == "email" else [],
    )
    return service, metadata
