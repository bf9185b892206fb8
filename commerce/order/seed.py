"""order's demo data: where the shop does not deliver."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from commerce.order.tables import delivery_restrictions
from commerce.platform.db import Database


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(
            insert(delivery_restrictions)
            .values(
                [
                    {
                        "country": "US",
                        "region": "AK",
                        "reason": "We do not ship to Alaska or Hawaii yet.",
                    },
                    {
                        "country": "US",
                        "region": "HI",
                        "reason": "We do not ship to Alaska or Hawaii yet.",
                    },
                ]
            )
            .on_conflict_do_nothing()
        )
