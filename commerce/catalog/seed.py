"""Load the demo catalog (idempotent) and build its search vectors."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from commerce.catalog.data import CATEGORIES, catalog_products
from commerce.catalog.search import SEARCH_VECTOR
from commerce.catalog.tables import categories, products, variants
from commerce.platform.db import Database


async def seed(db: Database) -> None:
    items = catalog_products()
    async with db.transaction() as session:
        await session.execute(
            insert(categories)
            .values([{"name": c, "title": c.capitalize()} for c in CATEGORIES])
            .on_conflict_do_nothing()
        )
        await session.execute(
            insert(products)
            .values(
                [
                    {
                        "product_id": p.product_id,
                        "name": p.name,
                        "brand": p.brand,
                        "category": p.category,
                        "description": p.description,
                        "tax_class": p.tax_class,
                        "attributes": p.attributes,
                        "min_price_cents": min(v.price_cents for v in p.variants),
                        "max_price_cents": max(v.price_cents for v in p.variants),
                        "currency": "USD",
                        "search": text("''::tsvector"),
                    }
                    for p in items
                ]
            )
            .on_conflict_do_nothing()
        )
        await session.execute(
            insert(variants)
            .values(
                [
                    {
                        "sku": v.sku,
                        "product_id": p.product_id,
                        "name": v.name,
                        "price_cents": v.price_cents,
                        "attributes": v.attributes,
                    }
                    for p in items
                    for v in p.variants
                ]
            )
            .on_conflict_do_nothing()
        )
        await session.execute(
            text(f"UPDATE products SET search = {SEARCH_VECTOR} WHERE search = ''::tsvector")
        )
