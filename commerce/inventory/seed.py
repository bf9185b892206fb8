"""inventory's demo data: stock for every SKU of the demo catalog."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from commerce.catalog.data import catalog_skus
from commerce.inventory.tables import stock
from commerce.platform.db import Database


async def seed(db: Database) -> None:
    """Stock for every SKU of the demo catalog; existing stock levels are left alone."""
    rows = [
        {"sku": s.sku, "product_id": s.product_id, "on_hand": s.initial_stock, "reserved": 0}
        for s in catalog_skus()
    ]
    async with db.transaction() as session:
        # executemany: one statement per batch of rows (a single VALUES list of 20,000
        # SKUs would pass asyncpg's limit of 32,767 parameters)
        await session.execute(insert(stock).on_conflict_do_nothing(), rows)
