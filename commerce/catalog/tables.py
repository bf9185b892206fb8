"""catalog's own database: products, their variants (SKUs) and categories."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from commerce.platform.db import service_metadata

metadata = service_metadata()

categories = Table(
    "categories",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("title", String(100), nullable=False),
    Column("icon", String(16), nullable=False, server_default=""),
)

products = Table(
    "products",
    metadata,
    Column("product_id", String(64), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("brand", String(100), nullable=False),
    Column("category", String(64), ForeignKey("categories.name"), nullable=False),
    Column("description", Text, nullable=False),
    Column("tax_class", String(16), nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("min_price_cents", Integer, nullable=False),
    Column("max_price_cents", Integer, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("search", TSVECTOR, nullable=False),
    Column("product_type", String(64), nullable=False, server_default=""),
    Column("rating", Float, nullable=True),
    Column("review_count", Integer, nullable=False, server_default="0"),
    Index("ix_products_search", "search", postgresql_using="gin"),
    Index(
        "ix_products_name_trgm",
        "name",
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    ),
    Index("ix_products_category_price", "category", "min_price_cents"),
    Index("ix_products_product_type", "product_type"),
)

variants = Table(
    "variants",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("product_id", String(64), ForeignKey("products.product_id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Index("ix_variants_product_id", "product_id"),
)
