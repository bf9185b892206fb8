"""refund's own database: a projection of refundable orders, and refunds."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

orders = Table(
    "refundable_orders",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("checkout_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("email", String(254)),
    Column("currency", String(3), nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("shipping_cents", Integer, nullable=False),
    Column("lines", JSONB, nullable=False),  # sku -> {quantity, paid_cents}
    Column("refunded_cents", Integer, nullable=False, server_default="0"),
    Column("pending_cents", Integer, nullable=False, server_default="0"),
)

refunds = Table(
    "refunds",
    metadata,
    Column("refund_id", UUID(as_uuid=True), primary_key=True),
    Column("order_id", UUID(as_uuid=True), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", Text, nullable=False),
    Column("failure_reason", Text),
    Column("lines", JSONB),
    Column("idempotency_key", String(200)),
    Column("request_hash", String(64)),
    # the full refund of an order being cancelled (migration 0002)
    Column("cancels_order", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("user_id", "idempotency_key", name="uq_refunds_user_key"),
    Index("ix_refunds_order_id", "order_id"),
)
