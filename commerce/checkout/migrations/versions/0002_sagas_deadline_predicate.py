"""checkout-orchestrator: the deadline index covers sagas that are pricing

Revision ID: 0002

Databases created before sagas had a `pricing` state have `ix_sagas_deadline` without it
in its predicate; the sweeper then scans the table for pricing sagas. Rebuilding the index
brings every database to the same definition (on a newer one it is rebuilt unchanged).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

ACTIVE = "state IN ('pricing','reserving','charging','ordering','compensating')"


def upgrade() -> None:
    op.drop_index("ix_sagas_deadline", table_name="sagas", if_exists=True)
    op.create_index(
        "ix_sagas_deadline",
        "sagas",
        ["deadline_at"],
        unique=False,
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    """Nothing to undo: the index keeps the predicate the models declare."""
