"""Value types shared by several messages. Money is always integer minor units + ISO currency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic_core import CoreSchema

MAX_CENTS = 2_147_483_647
"""The largest amount any service can store (its money columns are 32-bit integers):
$21,474,836.47. Every amount in a message is bounded by it."""
MAX_CHECKOUT_LINES = 100
"""The most lines one checkout (and so one cart) may have."""
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$"
"""An id in a URL path (a SKU, a product or user id): starts with a letter or digit, so
never `.` or `..`, and holds no character a path or a query gives meaning to."""

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS, description="An amount in minor units (cents)")]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


def _refuse(value: str, allowed: str) -> str:
    """Control characters (pydantic already refuses unpaired surrogates): PostgreSQL refuses
    NUL, and none of them belongs in a name, an address or a code."""
    for c in value:
        code = ord(c)
        if (code < 0x20 or code == 0x7F) and c not in allowed:
            raise ValueError("must not contain control characters")
    return value


@dataclass(frozen=True)
class _Documented:
    """States a rule that a validator checks as a JSON Schema `pattern`, so the published
    schemas (OpenAPI, AsyncAPI) say which strings are refused."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        schema: dict[str, Any] = handler(core_schema)
        schema["pattern"] = self.pattern
        return schema


Text = Annotated[str, AfterValidator(lambda v: _refuse(v, "")), _Documented(r"^[^\x00-\x1F\x7F]*$")]
"""One line a person typed: a name, an address line, a code."""
Paragraph = Annotated[
    str,
    AfterValidator(lambda v: _refuse(v, "\t\n\r")),
    _Documented(r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F]*$"),
]
"""Text a person typed that may run over several lines: a chat message, a reason."""


CheckoutState = Literal[
    "submitted",
    "pricing",
    "reserving",
    "charging",
    "ordering",
    "compensating",
    "completed",
    "failed",
]
"""Where a checkout is: `submitted` until the orchestrator has its saga, then the saga's state."""
FINAL_STATES: frozenset[CheckoutState] = frozenset({"completed", "failed"})
"""A checkout in one of these states changes no more."""


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Address(Value):
    name: Text = Field(min_length=1, max_length=200)
    line1: Text = Field(min_length=1, max_length=200)
    line2: Text | None = Field(None, max_length=200)
    city: Text = Field(min_length=1, max_length=100)
    region: Text | None = Field(None, max_length=100, description="State, province or county code")
    postal_code: Text = Field(min_length=1, max_length=20)
    country: CountryCode


class Contact(Value):
    email: Text | None = Field(None, max_length=254)
    phone: Text | None = Field(None, max_length=32)


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
