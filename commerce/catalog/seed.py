"""Load the demo catalog (idempotent) and build its search vectors and embeddings.

Thousands of products and tens of thousands of SKUs go in through COPY into temporary
tables and one INSERT ... SELECT per table, all in one transaction: a few hundred
milliseconds instead of one statement per row. A product already there keeps its row
and gets the generated product type, rating and review count (databases seeded before
those columns existed); categories get their current title and icon. Products without
an embedding (all, the first time; new ones later) are embedded in the same transaction.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.data import catalog_products
from commerce.catalog.embedding import embedder, literal
from commerce.catalog.kinds import DEPARTMENTS
from commerce.catalog.search import SEARCH_VECTOR
from commerce.catalog.tables import categories
from commerce.platform.db import Database

log = structlog.get_logger(__name__)

PRODUCT_COLUMNS = (
    "product_id", "name", "brand", "category", "description", "tax_class", "attributes",
    "min_price_cents", "max_price_cents", "currency", "product_type", "rating", "review_count",
)  # fmt: skip
VARIANT_COLUMNS = ("sku", "product_id", "name", "price_cents", "attributes")


def _json(value: dict[str, str]) -> str:
    return orjson.dumps(value).decode()


async def seed(db: Database) -> None:
    items = catalog_products()
    product_rows = [
        (
            p.product_id,
            p.name,
            p.brand,
            p.category,
            p.description,
            p.tax_class,
            _json(p.attributes),
            min(v.price_cents for v in p.variants),
            max(v.price_cents for v in p.variants),
            "USD",
            p.product_type,
            p.rating,
            p.review_count,
        )
        for p in items
    ]
    variant_rows = [
        (v.sku, p.product_id, v.name, v.price_cents, _json(v.attributes))
        for p in items
        for v in p.variants
    ]
    async with db.transaction() as session:
        title = insert(categories).values(
            [{"name": d.slug, "title": d.title, "icon": d.icon} for d in DEPARTMENTS]
        )
        await session.execute(
            title.on_conflict_do_update(
                index_elements=["name"],
                set_={"title": title.excluded.title, "icon": title.excluded.icon},
            )
        )
        connection = await session.connection()
        raw: Any = (await connection.get_raw_connection()).driver_connection
        await raw.execute(
            "CREATE TEMP TABLE seed_products (product_id text, name text, brand text,"
            " category text, description text, tax_class text, attributes text,"
            " min_price_cents int, max_price_cents int, currency text, product_type text,"
            " rating double precision, review_count int) ON COMMIT DROP;"
            " CREATE TEMP TABLE seed_variants (sku text, product_id text, name text,"
            " price_cents int, attributes text) ON COMMIT DROP"
        )
        await raw.copy_records_to_table(
            "seed_products", records=product_rows, columns=PRODUCT_COLUMNS
        )
        await raw.copy_records_to_table(
            "seed_variants", records=variant_rows, columns=VARIANT_COLUMNS
        )
        await session.execute(
            text(
                "INSERT INTO products (product_id, name, brand, category, description, tax_class,"
                " attributes, min_price_cents, max_price_cents, currency, product_type, rating,"
                " review_count, search)"
                " SELECT product_id, name, brand, category, description, tax_class,"
                " attributes::jsonb, min_price_cents, max_price_cents, currency, product_type,"
                " rating, review_count, ''::tsvector FROM seed_products"
                " ON CONFLICT (product_id) DO UPDATE SET product_type = excluded.product_type,"
                " rating = excluded.rating, review_count = excluded.review_count"
            )
        )
        await session.execute(
            text(
                "INSERT INTO variants (sku, product_id, name, price_cents, attributes)"
                " SELECT sku, product_id, name, price_cents, attributes::jsonb FROM seed_variants"
                " ON CONFLICT (sku) DO NOTHING"
            )
        )
        await session.execute(
            text(f"UPDATE products SET search = {SEARCH_VECTOR} WHERE search = ''::tsvector")
        )
        embedded = await embed_products(session)
    log.info(
        "catalog.seeded", products=len(product_rows), skus=len(variant_rows), embedded=embedded
    )


def product_text(row: dict[str, Any]) -> str:
    """What a product's embedding is computed from: its name, type, department,
    attribute values and description (the words a shopper would use)."""
    parts = [row["name"], row.get("product_type") or "", row["category"]]
    parts += [str(v) for v in (row.get("attributes") or {}).values()]
    parts.append(row["description"])
    return ". ".join(p for p in parts if p)


async def embed_products(session: AsyncSession) -> int:
    """Compute the embedding of every product that has none (new products); one statement
    writes them all. Returns how many were embedded."""
    found = await session.execute(
        text(
            "SELECT to_jsonb(p) - 'search' - 'embedding' FROM products p"
            " WHERE p.embedding IS NULL ORDER BY p.product_id"
        )
    )
    rows: list[dict[str, Any]] = [
        r if isinstance(r, dict) else orjson.loads(r) for r in found.scalars()
    ]
    if not rows:
        return 0
    vectors = embedder().embed([product_text(r) for r in rows])
    await session.execute(
        text(
            "UPDATE products p SET embedding = CAST(d.v AS vector)"
            " FROM unnest(CAST(:ids AS text[]), CAST(:vs AS text[])) AS d(id, v)"
            " WHERE p.product_id = d.id"
        ),
        {"ids": [r["product_id"] for r in rows], "vs": [literal(v) for v in vectors]},
    )
    return len(rows)
