"""tax-calculation's HTTP API: `POST /calculate-tax` and rate management."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from commerce.contracts.values import Address
from commerce.platform.service import RuntimeDep
from commerce.tax.domain import line_tax
from commerce.tax.tables import tax_rates

router = APIRouter(tags=["tax"])
TaxClass = Literal["standard", "reduced", "zero"]

EXAMPLE_ADDRESS: dict[str, Any] = {"name": "Alice Martin", "line1": "1 Main St", "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"}  # fmt: skip


class TaxLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1000)
    unit_price_cents: int = Field(ge=0, le=100_000_000)
    discount_cents: int = Field(0, ge=0)
    tax_class: TaxClass = "standard"


class TaxRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{
                "currency": "USD", "shipping_address": EXAMPLE_ADDRESS, "shipping_cents": 599,
                "lines": [{"sku": "BAT-AA-8", "quantity": 2, "unit_price_cents": 939, "discount_cents": 188, "tax_class": "standard"}],
            }]
        },
    )  # fmt: skip
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    shipping_address: Address
    lines: list[TaxLineIn] = Field(min_length=1, max_length=200)
    shipping_cents: int = Field(0, ge=0)


class TaxLineOut(BaseModel):
    sku: str
    taxable_cents: int
    rate_bps: int
    tax_cents: int


class TaxResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"tax_cents": 123, "currency": "USD", "jurisdiction": "US-CA", "shipping_tax_cents": 0,
                          "lines": [{"sku": "BAT-AA-8", "taxable_cents": 1690, "rate_bps": 725, "tax_cents": 123}]}]
        }
    )  # fmt: skip
    tax_cents: int
    currency: str
    jurisdiction: str
    shipping_tax_cents: int
    lines: list[TaxLineOut]


class RateIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"rate_bps": 725, "shipping_taxable": False}]},
    )
    rate_bps: int = Field(ge=0, le=10_000, description="Basis points: 725 = 7.25%")
    shipping_taxable: bool = False


class RatePublic(BaseModel):
    country: str
    region: str
    tax_class: str
    rate_bps: int
    shipping_taxable: bool


def unsupported(message: str) -> HTTPException:
    return HTTPException(422, detail={"code": "unsupported_address", "message": message})


@router.post("/calculate-tax", operation_id="tax-calculate", response_model=TaxResponse)
async def calculate_tax(runtime: RuntimeDep, body: TaxRequest) -> TaxResponse:
    """Tax per line for a shipping address. Unsupported address → 422 `unsupported_address`."""
    address = body.shipping_address
    region = (address.region or "").upper()
    async with runtime.db.reads() as session:
        rows = (
            (
                await session.execute(
                    select(tax_rates).where(
                        tax_rates.c.country == address.country,
                        tax_rates.c.region.in_([region, "*"]),
                    )
                )
            )
            .mappings()
            .all()
        )
    specific = {r["tax_class"]: r for r in rows if r["region"] == region and region}
    general = {r["tax_class"]: r for r in rows if r["region"] == "*"}
    rates = specific or general
    if not rates:
        where = f"{address.country}-{region}" if region else address.country
        raise unsupported(f"We cannot ship to or calculate tax for {where} yet.")
    jurisdiction = f"{address.country}-{region}" if specific else address.country
    lines = []
    for line in body.lines:
        rate = rates.get(line.tax_class) or rates.get("standard")
        if rate is None:
            raise unsupported(f"No {line.tax_class} tax rate is configured for {jurisdiction}.")
        taxable, tax = line_tax(
            line.quantity, line.unit_price_cents, line.discount_cents, rate["rate_bps"]
        )
        lines.append(
            TaxLineOut(
                sku=line.sku, taxable_cents=taxable, rate_bps=rate["rate_bps"], tax_cents=tax
            )
        )
    standard = rates.get("standard")
    shipping_tax = 0
    if standard is not None and standard["shipping_taxable"]:
        shipping_tax = line_tax(1, body.shipping_cents, 0, standard["rate_bps"])[1]
    return TaxResponse(
        tax_cents=sum(line.tax_cents for line in lines) + shipping_tax, currency=body.currency,
        jurisdiction=jurisdiction, shipping_tax_cents=shipping_tax, lines=lines,
    )  # fmt: skip


@router.get("/rates", operation_id="tax-rates-list", response_model=list[RatePublic])
async def list_rates(runtime: RuntimeDep) -> list[RatePublic]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(tax_rates).order_by(
                tax_rates.c.country, tax_rates.c.region, tax_rates.c.tax_class
            )
        )
        return [RatePublic(**r) for r in rows.mappings()]


@router.put(
    "/rates/{country}/{region}/{tax_class}", operation_id="tax-rates-set", response_model=RatePublic
)
async def set_rate(
    runtime: RuntimeDep,
    country: Annotated[str, Path(pattern=r"^[A-Z]{2}$")],
    region: Annotated[
        str, Path(pattern=r"^([A-Z0-9]{1,16}|-)$", description="'-' for the whole country")
    ],
    tax_class: TaxClass,
    body: RateIn,
) -> RatePublic:
    stored_region = "*" if region == "-" else region
    values = {
        "country": country,
        "region": stored_region,
        "tax_class": tax_class,
        **body.model_dump(),
    }
    async with runtime.db.transaction() as session:
        stmt = insert(tax_rates).values(**values)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["country", "region", "tax_class"], set_=body.model_dump()
            )
        )
    return RatePublic(**values)


RATES: list[tuple[str, str, int, int, int, bool]] = [
    # country, region, standard, reduced, zero (bps), shipping taxable
    ("US", "CA", 725, 0, 0, False), ("US", "NY", 400, 0, 0, True), ("US", "TX", 625, 0, 0, True),
    ("US", "WA", 650, 0, 0, True), ("US", "OR", 0, 0, 0, False), ("US", "IL", 625, 100, 0, False),
    ("US", "MA", 625, 0, 0, False), ("US", "AK", 0, 0, 0, False), ("US", "HI", 400, 400, 0, True),
    ("CA", "ON", 1300, 1300, 0, True), ("CA", "BC", 1200, 500, 0, True), ("CA", "QC", 1498, 1498, 0, True),
    ("CA", "AB", 500, 500, 0, True), ("GB", "*", 2000, 500, 0, True), ("DE", "*", 1900, 700, 0, True),
    ("FR", "*", 2000, 550, 0, True),
]  # fmt: skip


async def seed(db: object) -> None:
    from commerce.platform.db import Database

    assert isinstance(db, Database)
    rows = [
        {"country": c, "region": r, "tax_class": cls, "rate_bps": rate, "shipping_taxable": ship}
        for c, r, standard, reduced, zero, ship in RATES
        for cls, rate in (("standard", standard), ("reduced", reduced), ("zero", zero))
    ]
    async with db.transaction() as session:
        await session.execute(insert(tax_rates).values(rows).on_conflict_do_nothing())
