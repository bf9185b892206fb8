"""gateway-bff: home addresses and the assistant's conversations and messages

Revision ID: 0003

As in 0002, `if_not_exists` lets a new database (built whole by 0001) and an upgraded
one end in the same schema. The graph's checkpoints are not here: the PostgreSQL
checkpointer keeps its own tables in the `assistant` schema and creates them itself.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    now = sa.func.now()
    op.create_table(
        "addresses",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("address", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        if_not_exists=True,
    )
    op.create_table(
        "assistant_conversations",
        sa.Column("conversation_id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("state", sa.String(32), nullable=False, server_default="idle"),
        sa.Column("checkout_id", sa.String(36)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        if_not_exists=True,
    )
    op.create_index(
        "ix_assistant_conversations_user_id",
        "assistant_conversations",
        ["user_id"],
        if_not_exists=True,
    )
    op.create_table(
        "assistant_messages",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        if_not_exists=True,
    )
    op.create_index(
        "ix_assistant_messages_conversation_id",
        "assistant_messages",
        ["conversation_id"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("assistant_messages")
    op.drop_table("assistant_conversations")
    op.drop_table("addresses")
