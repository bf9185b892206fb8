"""refund: initial schema

Revision ID: 0001
"""

from commerce.platform.migrations import create_initial_schema, drop_initial_schema
from commerce.refund.tables import metadata

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_initial_schema(metadata)


def downgrade() -> None:
    drop_initial_schema(metadata)
