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
from sqlalchemy.dialects.postgresql import JSONB, UUID

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

# Delegated payment tokens (the protocol's delegate_payment): what a charge needs, never
# the card number or its code; `outcome` is the simulated decision the card stands for.
delegated_tokens = Table(
    "delegated_tokens",
    metadata,
    Column("token_id", String(40), primary_key=True),
    Column("idempotency_key", String(255), unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("brand", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("funding", String(16), nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("max_amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("merchant_id", String(256), nullable=False),
    Column("checkout_session_id", String(256), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("checkout_id", UUID(as_uuid=True)),
    Column("redeemed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
