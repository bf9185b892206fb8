"""The assistant's public shapes: what the BFF's `/v1/assistant` routes answer and the UI,
CLI and evals read. Money in cents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from commerce.contracts.values import Paragraph

TurnState = Literal["idle", "awaiting_confirmation", "checking_out", "completed", "failed"]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(Shape):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": None,
                    "text": "two packs of AA batteries and a USB-C cable, under $30, ship home",
                }
            ]
        },
    )
    conversation_id: str | None = Field(None, max_length=64)
    text: Paragraph = Field(min_length=1, max_length=2000)


class ConfirmIn(Shape):
    approve: bool
    expected_total_cents: int | None = Field(
        None, ge=0, description="The total the person saw; another pending total answers 409"
    )


class Message(Shape):
    role: Literal["user", "assistant"]
    text: str
    at: datetime


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


class AssistantTurn(Shape):
    conversation_id: str
    messages: list[Message]
    pending: Confirmation | None = None
    checkout_id: str | None = None
    state: TurnState = "idle"


class ConversationSummary(Shape):
    conversation_id: str
    title: str
    updated_at: datetime


class Conversations(Shape):
    items: list[ConversationSummary]


class ConversationPublic(Shape):
    conversation_id: str
    messages: list[Message]
    pending: Confirmation | None = None
    checkout_id: str | None = None
    state: TurnState = "idle"
