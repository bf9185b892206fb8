"""checkout-orchestrator's own database: sagas and their timelines."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

sagas = Table(
    "sagas",
    metadata,
    Column("checkout_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("command", JSONB, nullable=False),
    Column("totals", JSONB, nullable=False),
    Column("payment_id", UUID(as_uuid=True)),
    Column("order_id", UUID(as_uuid=True)),
    Column("code", String(32)),
    Column("reason", Text),
    Column("pending", ARRAY(String(16)), nullable=False, server_default="{}"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("deadline_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_sagas_user_created", "user_id", "created_at"),
    Index(
        "ix_sagas_deadline",
        "deadline_at",
        postgresql_where="state IN ('pricing','reserving','charging','ordering','compensating')",
    ),
)

saga_events = Table(
    "saga_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("checkout_id", UUID(as_uuid=True), ForeignKey("sagas.checkout_id"), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("type", String(64), nullable=False),
    Column("message_id", UUID(as_uuid=True)),
    Column("state", String(16), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_saga_events_checkout_id", "checkout_id", "id"),
)
