"""gateway-bff: initial schema

Revision ID: 0001
"""

from bff.tables import metadata
from commerce.platform.migrations import create_initial_schema, drop_initial_schema

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_initial_schema(metadata)


def downgrade() -> None:
    drop_initial_schema(metadata)
