"""gateway-bff: Idempotency-Key up to 255 characters; what a checkout session keeps as given

Revision ID: 0004

The Agentic Commerce Protocol allows keys of 255 characters. `extras` keeps the
session's fields the shop stores without acting on them (quote_id, affiliate
attribution, fulfillment groups, risk signals, …) and the problems it reports as
messages. `IF NOT EXISTS` lets a database built whole by 0001 and an upgraded one end
in the same schema.
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute("ALTER TABLE idempotency_keys ALTER COLUMN key TYPE VARCHAR(255)")
    op.execute(
        "ALTER TABLE checkout_sessions ADD COLUMN IF NOT EXISTS extras JSONB NOT NULL DEFAULT '{}'"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE checkout_sessions DROP COLUMN IF EXISTS extras")
    op.execute("ALTER TABLE idempotency_keys ALTER COLUMN key TYPE VARCHAR(200)")
