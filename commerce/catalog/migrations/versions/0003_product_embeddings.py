"""catalog: product embeddings for semantic search (pgvector)

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"

DIMENSIONS = 256  # commerce/catalog/model/model.json


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(f"ALTER TABLE products ADD COLUMN IF NOT EXISTS embedding vector({DIMENSIONS})")


def downgrade() -> None:
    op.execute("ALTER TABLE products DROP COLUMN IF EXISTS embedding")
