"""tax-calculation's storage: the rates."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.tax.domain import Rate
from commerce.tax.tables import tax_rates


class TaxStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rates_for(self, country: str, region: str) -> list[Rate]:
        """The rates of a country and of one of its regions (region `*`: the country's)."""
        rows = await self.session.execute(
            select(tax_rates).where(
                tax_rates.c.country == country, tax_rates.c.region.in_([region, "*"])
            )
        )
        return [Rate(**r) for r in rows.mappings()]

    async def all_rates(self) -> list[Rate]:
        rows = await self.session.execute(
            select(tax_rates).order_by(
                tax_rates.c.country, tax_rates.c.region, tax_rates.c.tax_class
            )
        )
        return [Rate(**r) for r in rows.mappings()]

    async def set_rate(self, rate: Rate) -> None:
        stmt = insert(tax_rates).values(**vars(rate))
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["country", "region", "tax_class"],
                set_={"rate_bps": rate.rate_bps, "shipping_taxable": rate.shipping_taxable},
            )
        )
