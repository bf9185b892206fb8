"""refund: a refund may cancel its order

Revision ID: 0002

`cancels_order` marks the full refund that cancels an order (the order service then shows
the order as cancelled and returns its stock); every refund before it was a plain refund.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column(
        "refunds",
        sa.Column("cancels_order", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("refunds", "cancels_order")
