"""gateway-bff: Agentic Commerce Protocol checkout sessions

Revision ID: 0002

0001 builds every table of the current metadata, so on a new database this table
already exists when 0002 runs; `if_not_exists` makes both paths end in one schema.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "checkout_sessions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("items", JSONB, nullable=False),
        sa.Column("buyer", JSONB),
        sa.Column("address", JSONB),
        sa.Column("coupon", sa.String(64)),
        sa.Column("checkout_id", sa.String(36)),
        sa.Column("canceled", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        if_not_exists=True,
    )
    op.create_index(
        "ix_checkout_sessions_user_id", "checkout_sessions", ["user_id"], if_not_exists=True
    )


def downgrade() -> None:
    op.drop_table("checkout_sessions")
