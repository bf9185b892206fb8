"""catalog: initial schema (needs the pg_trgm and unaccent extensions)

Revision ID: 0001
"""

from alembic import op

from commerce.catalog.tables import metadata
from commerce.platform.migrations import create_initial_schema, drop_initial_schema

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    create_initial_schema(metadata)


def downgrade() -> None:
    drop_initial_schema(metadata)
