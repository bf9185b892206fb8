"""catalog: product type, rating and review count on products; an icon per category

Revision ID: 0002
Revises: 0001

Written with IF NOT EXISTS: a database whose 0001 was built from the models of this
revision already has these columns (0001 creates the tables as the models declare them,
until its DDL is frozen), and re-running it must change nothing.
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        "ALTER TABLE products"
        " ADD COLUMN IF NOT EXISTS product_type VARCHAR(64) DEFAULT '' NOT NULL,"
        " ADD COLUMN IF NOT EXISTS rating FLOAT,"
        " ADD COLUMN IF NOT EXISTS review_count INTEGER DEFAULT '0' NOT NULL"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_products_product_type ON products (product_type)")
    op.execute(
        "ALTER TABLE categories ADD COLUMN IF NOT EXISTS icon VARCHAR(16) DEFAULT '' NOT NULL"
    )


def downgrade() -> None:
    op.execute("ALTER TABLE categories DROP COLUMN IF EXISTS icon")
    op.execute("DROP INDEX IF EXISTS ix_products_product_type")
    op.execute(
        "ALTER TABLE products DROP COLUMN IF EXISTS review_count,"
        " DROP COLUMN IF EXISTS rating, DROP COLUMN IF EXISTS product_type"
    )
