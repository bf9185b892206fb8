"""payment-gateway's own database: payments and their ledger."""

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
from sqlalchemy.dialects.postgresql import UUID

from commerce.platform.db import service_metadata

metadata = service_metadata()

payments = Table(
    "payments",
    metadata,
    Column("payment_id", UUID(as_uuid=True), primary_key=True),
    Column("checkout_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("user_id", String(64), nullable=False),
    Column("token", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False),
    Column("authorized_cents", Integer, nullable=False, server_default="0"),
    Column("captured_cents", Integer, nullable=False, server_default="0"),
    Column("refunded_cents", Integer, nullable=False, server_default="0"),
    Column("failure_code", String(32)),
    Column("failure_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_payments_user_id", "user_id"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("payment_id", UUID(as_uuid=True), ForeignKey("payments.payment_id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount_cents", Integer, nullable=False),
    Column("reference", String(64), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_ledger_payment_id", "payment_id"),
)
