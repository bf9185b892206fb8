"""tax-calculation's storage: the rates."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.platform.db import as_dict, columns, fetch
from commerce.tax.domain import Rate
from commerce.tax.tables import tax_rates

_RATES_FOR = (
    f"SELECT {columns(tax_rates)} FROM {tax_rates.name} WHERE country = $1 AND region IN ($2, '*')"
)


class TaxStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rates_for(self, country: str, region: str) -> list[Rate]:
        """The rates of a country and of one of its regions (region `*`: the country's)."""
        rows = await fetch(self.session, _RATES_FOR, country, region)
        return [Rate(**as_dict(r)) for r in rows]

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
