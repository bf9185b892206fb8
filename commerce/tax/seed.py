"""tax-calculation's demo data: the rates of the regions and countries the shop ships to."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from commerce.platform.db import Database
from commerce.tax.tables import tax_rates

RATES: list[tuple[str, str, int, int, int, bool]] = [
    # country, region, standard, reduced, zero (bps), shipping taxable
    ("US", "CA", 725, 0, 0, False), ("US", "NY", 400, 0, 0, True), ("US", "TX", 625, 0, 0, True),
    ("US", "WA", 650, 0, 0, True), ("US", "OR", 0, 0, 0, False), ("US", "IL", 625, 100, 0, False),
    ("US", "MA", 625, 0, 0, False), ("US", "AK", 0, 0, 0, False), ("US", "HI", 400, 400, 0, True),
    ("CA", "ON", 1300, 1300, 0, True), ("CA", "BC", 1200, 500, 0, True), ("CA", "QC", 1498, 1498, 0, True),
    ("CA", "AB", 500, 500, 0, True), ("GB", "*", 2000, 500, 0, True), ("DE", "*", 1900, 700, 0, True),
    ("FR", "*", 2000, 550, 0, True),
]  # fmt: skip


async def seed(db: Database) -> None:
    rows = [
        {"country": c, "region": r, "tax_class": cls, "rate_bps": rate, "shipping_taxable": ship}
        for c, r, standard, reduced, zero, ship in RATES
        for cls, rate in (("standard", standard), ("reduced", reduced), ("zero", zero))
    ]
    async with db.transaction() as session:
        await session.execute(insert(tax_rates).values(rows).on_conflict_do_nothing())
