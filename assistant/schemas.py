"""What the assistant keeps in its state for a person to see: the confirmation awaiting
their yes and the turn's state. The BFF's `/v1/assistant` API answers them as its own
shapes (`shopapi.schemas`). Money in cents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TurnState = Literal["idle", "awaiting_confirmation", "checking_out", "completed", "failed"]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanStepPublic(Shape):
    kind: str
    description: str


class ConfirmationLine(Shape):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class Confirmation(Shape):
    action: Literal["purchase", "refund", "cancel"] = Field(
        "purchase",
        description="What approving does: pay for the lines, refund them (or the amount), "
        "or cancel the order and refund it; for a refund or a cancellation `total_cents` is "
        "what goes back to the card",
    )
    order_id: str | None = Field(None, description="The order a refund or cancellation is for")
    plan: list[PlanStepPublic]
    lines: list[ConfirmationLine]
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int
    budget_cents: int | None
    coupon_code: str | None
    currency: str = "USD"
    shipping_address: dict[str, Any]
    notes: list[str] = Field(
        default_factory=list, description="e.g. a substitute for an out-of-stock item"
    )
