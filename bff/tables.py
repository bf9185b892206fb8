"""gateway-bff's own database: users, addresses, idempotency keys, checkouts, ACP sessions and
the assistant's conversations (the graph's checkpoints live in the `assistant` schema)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
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

users = Table(
    "users",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("phone", String(32)),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("route", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),  # NULL while the first request is in flight
    Column("response", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # in flight: the request holding the key, until when (docs/adr/0021)
    Column("lease_until", DateTime(timezone=True)),
    Column("holder", UUID(as_uuid=True)),
)

checkouts = Table(
    "checkouts",
    metadata,
    Column("checkout_id", String(36), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("total_cents", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

checkout_sessions = Table(
    "checkout_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(64), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("items", JSONB, nullable=False),  # [{"sku", "quantity"}]
    Column("buyer", JSONB),
    Column("address", JSONB),  # our Address contract
    Column("coupon", String(64)),
    Column("checkout_id", String(36)),
    Column("canceled", Integer, nullable=False, server_default="0"),
    # what the protocol sends that the shop keeps as given (quote_id, attribution, …)
    Column("extras", JSONB, nullable=False, server_default="{}"),
    Column("agent_id", String(64)),  # the signed agent client that created it, if any
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

addresses = Table(
    "addresses",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("address", JSONB, nullable=False),  # our Address contract: the person's home address
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

assistant_conversations = Table(
    "assistant_conversations",
    metadata,
    Column("conversation_id", String(64), primary_key=True),  # = the graph's thread id
    Column("user_id", String(64), nullable=False, index=True),
    Column("title", String(200), nullable=False),
    Column("state", String(32), nullable=False, server_default="idle"),
    Column("checkout_id", String(36)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

assistant_messages = Table(
    "assistant_messages",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("conversation_id", String(64), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Agent clients of the Agentic Commerce Protocol: each signs its requests with its own
# secret and buys for one person; order events go to its webhook endpoint.
acp_agents = Table(
    "acp_agents",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("api_key_hash", String(64), nullable=False, unique=True),  # sha256 of the API key
    Column("signing_secret", String(128), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("webhook_url", Text),
    Column("webhook_secret", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Order events owed to agents' webhook endpoints (an outbox of its own): pending until
# the endpoint answers 2xx, retried with backoff, `dead` (the dead-letter record, with the
# last error) after the last attempt.
acp_webhook_deliveries = Table(
    "acp_webhook_deliveries",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("agent_id", String(64), nullable=False),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(32), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True)),
    Index("ix_acp_webhook_deliveries_due", "status", "next_attempt_at"),
)
