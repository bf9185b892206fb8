"""payment-gateway: delegated payment tokens (the Agentic Commerce Protocol's delegate_payment)

Revision ID: 0002

A token keeps what a charge needs (allowance, card brand and last four digits, the
simulated outcome), never the card number or its code. `if_not_exists` lets a database
built whole by 0001 and an upgraded one end in the same schema.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "delegated_tokens",
        sa.Column("token_id", sa.String(40), primary_key=True),
        sa.Column("idempotency_key", sa.String(255), unique=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("brand", sa.String(32), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("funding", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("max_amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("merchant_id", sa.String(256), nullable=False),
        sa.Column("checkout_session_id", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("checkout_id", UUID(as_uuid=True)),
        sa.Column("redeemed_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("delegated_tokens")
