"""Load the demo catalog (idempotent) and build its search vectors and embeddings."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.data import CATEGORIES, catalog_products
from commerce.catalog.embedding import embedder, literal
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
        await embed_products(session)


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
