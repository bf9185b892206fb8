"""discount-engine's own database: rules and redemptions."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

rules = Table(
    "rules",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("value", Integer, nullable=False, server_default="0"),
    Column("scope", String(16), nullable=False, server_default="order"),
    Column("scope_values", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("min_subtotal_cents", Integer, nullable=False, server_default="0"),
    Column("coupon_code", String(64), unique=True),
    Column("buy_x", Integer, nullable=False, server_default="0"),
    Column("get_y", Integer, nullable=False, server_default="0"),
    Column("starts_at", DateTime(timezone=True)),
    Column("ends_at", DateTime(timezone=True)),
    Column("usage_limit", Integer),
    Column("once_per_customer", Boolean, nullable=False, server_default="false"),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("checkout_id", UUID(as_uuid=True), primary_key=True),
    Column("rule_id", Integer, ForeignKey("rules.id"), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_redemptions_rule_user", "rule_id", "user_id"),
)
