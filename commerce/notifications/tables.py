"""A notification service's own table (each channel has its own database)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID

from commerce.platform.db import service_metadata


def notifications_table(metadata: MetaData) -> Table:
    return Table(
        "notifications",
        metadata,
        Column("notification_id", UUID(as_uuid=True), primary_key=True),
        Column("user_id", String(64), nullable=False),
        Column("recipient", String(254), nullable=False),
        Column("template", String(64), nullable=False),
        Column("subject", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("data", JSONB, nullable=False),
        Column("status", String(8), nullable=False),
        Column("failure_reason", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )


def channel_metadata() -> MetaData:
    """The metadata of one channel's database: the platform tables and `notifications`."""
    metadata = service_metadata()
    notifications_table(metadata)
    return metadata
