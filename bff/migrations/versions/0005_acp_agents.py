"""gateway-bff: agent clients of the Agentic Commerce Protocol (signing keys, webhook endpoints)

Revision ID: 0005

`IF NOT EXISTS` lets a database built whole by 0001 and an upgraded one end in the same
schema.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "acp_agents",
        sa.Column("agent_id", sa.String(64), primary_key=True),
        sa.Column("api_key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("signing_secret", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("webhook_url", sa.Text),
        sa.Column("webhook_secret", sa.String(128)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        if_not_exists=True,
    )
    op.execute("ALTER TABLE checkout_sessions ADD COLUMN IF NOT EXISTS agent_id VARCHAR(64)")


def downgrade() -> None:
    op.execute("ALTER TABLE checkout_sessions DROP COLUMN IF EXISTS agent_id")
    op.drop_table("acp_agents")
