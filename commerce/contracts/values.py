"""Value types shared by several messages. Money is always integer minor units + ISO currency."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Cents = Annotated[int, Field(ge=0, description="An amount in minor units (cents)")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Value):
    name: str = Field(min_length=1, max_length=200)
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    region: str | None = Field(None, max_length=100, description="State, province or county code")
    postal_code: str = Field(min_length=1, max_length=20)
    country: CountryCode


class Contact(Value):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)


class CheckoutLine(Value):
    """One line of a checkout as the customer saw it."""

    sku: Sku
    product_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)
    quantity: int = Field(ge=1, le=1000)
    unit_price_cents: Cents
    tax_class: str = "standard"
    category: str | None = None


class StockLine(Value):
    sku: Sku
    quantity: int = Field(ge=1, le=1000)


class StockShortage(Value):
    sku: Sku
    requested: int
    available: int


class Totals(Value):
    """What the customer pays, as quoted."""

    subtotal_cents: Cents
    discount_cents: Cents = 0
    tax_cents: Cents = 0
    shipping_cents: Cents = 0
    total_cents: Cents
    currency: Currency = "USD"
