"""gateway-bff: order events owed to agents' webhook endpoints (outbox with dead letters)

Revision ID: 0006

`IF NOT EXISTS` lets a database built whole by 0001 and an upgraded one end in the same
schema.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    now = sa.func.now()
    op.create_table(
        "acp_webhook_deliveries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("agent_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=now
        ),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        if_not_exists=True,
    )
    op.create_index(
        "ix_acp_webhook_deliveries_due",
        "acp_webhook_deliveries",
        ["status", "next_attempt_at"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("acp_webhook_deliveries")
