"""ledger: platform tables and entries

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from commerce.platform.migrations import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_platform_tables()
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account", sa.String(50), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("message_id", sa.dialects.postgresql.UUID(as_uuid=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("entries")
    drop_platform_tables()
