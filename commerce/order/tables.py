"""order's own database."""

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
from sqlalchemy.dialects.postgresql import JSONB, UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

orders = Table(
    "orders",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("checkout_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("user_id", String(64), nullable=False),
    Column("status", String(24), nullable=False),
    Column("subtotal_cents", Integer, nullable=False),
    Column("discount_cents", Integer, nullable=False),
    Column("tax_cents", Integer, nullable=False),
    Column("shipping_cents", Integer, nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("refunded_cents", Integer, nullable=False, server_default="0"),
    Column("currency", String(3), nullable=False),
    Column("shipping_address", JSONB, nullable=False),
    Column("contact", JSONB, nullable=False),
    Column("payment_id", UUID(as_uuid=True), nullable=False),
    Column("coupon_code", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_orders_user_created", "user_id", "created_at"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.order_id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", Integer, nullable=False),
)

order_history = Table(
    "order_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", UUID(as_uuid=True), ForeignKey("orders.order_id"), nullable=False),
    Column("from_status", String(24)),
    Column("to_status", String(24), nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_order_history_order_id", "order_id"),
)

delivery_restrictions = Table(
    "delivery_restrictions",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("region", String(100), primary_key=True),
    Column("reason", Text, nullable=False),
)
