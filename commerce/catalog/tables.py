"""catalog's own database: products, their variants (SKUs) and categories."""

from __future__ import annotations

from typing import Any

from sqlalchemy import DDL, Column, Float, ForeignKey, Index, Integer, String, Table, Text, event
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.types import UserDefinedType

from commerce.platform.db import service_metadata

EMBEDDING_DIMENSIONS = 256  # the model's (commerce/catalog/model/model.json)


class Vector(UserDefinedType[Any]):
    """pgvector's `vector(n)`; values are written as text (`CAST(:v AS vector)`) and the
    column is only read by PostgreSQL itself (distances), so no Python conversion."""

    cache_ok = True

    def __init__(self, dimensions: int | None = None) -> None:
        self.dimensions = dimensions

    def get_col_spec(self, **kw: Any) -> str:
        return "vector" if self.dimensions is None else f"vector({self.dimensions})"


ischema_names["vector"] = Vector  # so a reflected schema (the migrations test) knows it

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
    Column("embedding", Vector(EMBEDDING_DIMENSIONS), nullable=True),
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

# While revision 0001 still builds its tables from this module (create_all), the column
# above needs pgvector before that; revision 0003 creates it for databases built earlier.
event.listen(products, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS vector"))  # type: ignore[no-untyped-call]
