"""tax-calculation's HTTP API: `POST /calculate-tax` and rate management."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from commerce.contracts.values import Address
from commerce.platform.service import RuntimeDep
from commerce.tax.domain import Rate, TaxLine, Unsupported, assess
from commerce.tax.store import TaxStore

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
        rates = await TaxStore(session).rates_for(address.country, region)
    lines = [
        TaxLine(li.sku, li.quantity, li.unit_price_cents, li.discount_cents, li.tax_class)
        for li in body.lines
    ]
    try:
        assessed = assess(address.country, address.region, rates, lines, body.shipping_cents)
    except Unsupported as exc:
        raise unsupported(str(exc)) from exc
    return TaxResponse(
        tax_cents=assessed.tax_cents, currency=body.currency, jurisdiction=assessed.jurisdiction,
        shipping_tax_cents=assessed.shipping_tax_cents,
        lines=[TaxLineOut(sku=t.sku, taxable_cents=t.taxable_cents, rate_bps=t.rate_bps, tax_cents=t.tax_cents)
               for t in assessed.lines],
    )  # fmt: skip


@router.get("/rates", operation_id="tax-rates-list", response_model=list[RatePublic])
async def list_rates(runtime: RuntimeDep) -> list[RatePublic]:
    async with runtime.db.sessions() as session:
        return [RatePublic(**vars(r)) for r in await TaxStore(session).all_rates()]


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
        await TaxStore(session).set_rate(Rate(**values))
    return RatePublic(**values)
