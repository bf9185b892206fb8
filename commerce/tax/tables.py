"""tax-calculation's own database: rates."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Integer, String, Table

from commerce.platform.db import service_metadata

metadata = service_metadata()

tax_rates = Table(
    "tax_rates",
    metadata,
    Column("country", String(2), primary_key=True),
    Column("region", String(16), primary_key=True),  # "*" = the whole country
    Column("tax_class", String(16), primary_key=True),
    Column("rate_bps", Integer, nullable=False),
    Column("shipping_taxable", Boolean, nullable=False, server_default="false"),
    CheckConstraint("rate_bps BETWEEN 0 AND 10000", name="rate_range"),
)
