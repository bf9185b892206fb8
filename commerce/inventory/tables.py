"""inventory's own database."""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

stock = Table(
    "stock",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("on_hand", Integer, nullable=False),
    Column("reserved", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved_within_on_hand"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("checkout_id", UUID(as_uuid=True), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("reason", Text),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reservation_lines = Table(
    "reservation_lines",
    metadata,
    Column(
        "checkout_id",
        UUID(as_uuid=True),
        ForeignKey("reservations.checkout_id"),
        primary_key=True,
    ),
    Column("sku", String(64), primary_key=True),
    Column("quantity", Integer, nullable=False),
)
