"""cart's own database."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, ForeignKey, Integer, String, Table, func
from sqlalchemy.dialects.postgresql import UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

carts = Table(
    "carts",
    metadata,
    Column("cart_id", UUID(as_uuid=True), primary_key=True),
    Column("user_id", String(64), nullable=False, unique=True),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

cart_lines = Table(
    "cart_lines",
    metadata,
    Column("cart_id", UUID(as_uuid=True), ForeignKey("carts.cart_id"), primary_key=True),
    Column("sku", String(64), primary_key=True),
    Column("product_id", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("category", String(64)),
    Column("tax_class", String(16), nullable=False, server_default="standard"),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_range"),
    CheckConstraint("unit_price_cents >= 0", name="price_not_negative"),
)

cleared_checkouts = Table(
    "cleared_checkouts",
    metadata,
    Column("checkout_id", UUID(as_uuid=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
