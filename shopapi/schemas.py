"""The public shapes of the shop's API (the BFF's `/v1`): what its routes take and answer.

One naming family: `…Create` is a body that makes something (a cart line, a quote, a
checkout, a refund, a chat message), `…Update` a body that changes something, `…Public` an
answer. Money is in cents. These models are the API's contract: the routes declare them as
their response models (so the OpenAPI document states every answer), and the one client of
the API (`shopapi.client`) parses answers with them.

Request bodies refuse unknown fields; answers ignore fields they do not name, so a client
built with an older copy still reads a newer server.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from commerce.contracts.values import (
    ID_PATTERN,
    MAX_CENTS,
    Address,
    CheckoutState,
    Paragraph,
    Text,
    Totals,
)


class Create(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """An answer."""

    model_config = ConfigDict(extra="ignore")


# -- errors ---------------------------------------------------------------------------


class ErrorBody(Public):
    type: str
    code: str
    message: str
    param: str | None = None


class ErrorPublic(Public):
    """Every `/v1` error: `{"error": {"type", "code", "message", "param"}}`."""

    error: ErrorBody


# -- auth -----------------------------------------------------------------------------


class TokenCreate(Create):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"email": "alice@example.com", "password": "alice-demo-pass"}]
        },
    )
    email: Text = Field(min_length=3, max_length=254)
    password: Text = Field(min_length=1, max_length=200)


class TokenPublic(Public):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user_id: str


class UserPublic(Public):
    user_id: str
    email: str
    name: str
    phone: str | None = None
    address: dict[str, Any] | None = Field(None, description="The home address (an Address)")


class AddressUpdate(Address):
    """The person's new home address, where checkouts ship by default. Every field is
    checked: `country` is an ISO 3166 alpha-2 code in capitals (`US`), `region` the state
    or province code; unknown fields are refused."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Alice Martin", "line1": "500 Pine St", "line2": "Apt 4",
                 "city": "Seattle", "region": "WA", "postal_code": "98101", "country": "US"}
            ]
        },
    )  # fmt: skip


# -- products ---------------------------------------------------------------------------


class VariantPublic(Public):
    sku: str
    name: str
    price_cents: int
    attributes: dict[str, str]
    available: int | None = None


class ProductPublic(Public):
    product_id: str
    name: str
    brand: str
    category: str
    description: str
    tax_class: str
    attributes: dict[str, str]
    min_price_cents: int
    max_price_cents: int
    currency: str
    product_type: str = ""
    rating: float | None = None
    review_count: int = 0
    availability: Literal["in_stock", "out_of_stock", "unknown"] = "unknown"
    variants: list[VariantPublic]


class SearchHitPublic(Public):
    """Why a product of `items` (same position) ranks where it does."""

    product_id: str
    product_type: str | None = None
    score: float
    lexical_rank: int | None = None
    semantic_rank: int | None = None
    similarity: float | None = None


class ProductsPublic(Public):
    """A page of products. With `q`, `match` says whether the shop carries what was asked
    for ("matched", "related" or "none"); with "none", `items` is empty and `nearest` /
    `nearest_categories` give what comes closest."""

    items: list[ProductPublic]
    total: int
    limit: int
    offset: int
    match: Literal["matched", "related", "none"] | None = None
    query_types: list[str] = Field(default_factory=list)
    hits: list[SearchHitPublic] = Field(default_factory=list)
    nearest: list[ProductPublic] = Field(default_factory=list)
    nearest_categories: list[str] = Field(default_factory=list)


# -- cart -------------------------------------------------------------------------------


class CartLineCreate(Create):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"sku": "BAT-AA-8", "quantity": 2}]}
    )
    sku: Text = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=1000)


class CartLineUpdate(Create):
    quantity: int = Field(ge=1, le=1000)


class CartLinePublic(Public):
    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    currency: str
    category: str | None
    tax_class: str
    line_total_cents: int


class CartPublic(Public):
    cart_id: uuid.UUID
    user_id: str
    version: int
    lines: list[CartLinePublic]
    item_count: int
    subtotal_cents: int
    currency: str


# -- coupons ----------------------------------------------------------------------------


class CouponCheckCreate(Create):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"code": "SAVE10", "lines": [{"sku": "BAT-AA-8", "quantity": 1}]}]
        },
    )
    code: Text = Field(min_length=1, max_length=64)
    lines: list[CartLineCreate] = Field(min_length=1, max_length=200)


class CouponCheckPublic(Public):
    code: str
    applies: bool
    reason: str | None = Field(None, description="Why the coupon cannot apply to these lines")
    discount_cents: int = 0


class PromotionPublic(Public):
    name: str = Field(description="What it gives, e.g. '10% off orders of $20 or more'")
    coupon_code: str | None = Field(
        None, description="The code to give at checkout; null when it applies by itself"
    )
    ends_at: datetime | None = None


class PromotionsPublic(Public):
    items: list[PromotionPublic]


# -- checkout ---------------------------------------------------------------------------


class QuoteCreate(Create):
    shipping_address: Address
    coupon_code: Text | None = Field(None, min_length=1, max_length=64)


class CheckoutCreate(QuoteCreate):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"shipping_address": {"name": "Alice Martin", "line1": "1 Main St", "city": "Portland", "region": "OR", "postal_code": "97201", "country": "US"},
                                         "payment_token": "tok_visa", "expected_total_cents": 2477}]},
    )  # fmt: skip
    payment_token: Text = Field(min_length=1, max_length=200)
    expected_total_cents: int = Field(
        ge=0, le=MAX_CENTS, description="The total of the quote the person approved"
    )


class QuoteLinePublic(Public):
    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int
    tax_class: str = "standard"
    category: str | None = None
    discount_cents: int
    tax_cents: int


class AppliedRulePublic(Public):
    rule_id: int
    name: str
    code: str | None = None
    discount_cents: int


class QuotePublic(Public):
    lines: list[QuoteLinePublic]
    totals: Totals
    applied: list[AppliedRulePublic]
    jurisdiction: str
    expires_at: datetime


class CheckoutAcceptedPublic(Public):
    """A checkout that was accepted: follow it with `GET /v1/checkouts/{checkout_id}`."""

    checkout_id: uuid.UUID
    status: Literal["submitted"] = "submitted"
    totals: Totals


class CheckoutPublic(Public):
    """Where a checkout is. Only `checkout_id` and `state` while it is `submitted` (the
    orchestrator has not picked it up yet)."""

    checkout_id: uuid.UUID
    state: CheckoutState
    user_id: str | None = None
    code: str | None = Field(None, description="Why it failed, e.g. out_of_stock")
    reason: str | None = None
    totals: dict[str, Any] | None = None
    order_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None
    pending_compensations: list[str] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TimelineEntryPublic(Public):
    direction: str
    type: str
    state: str
    message_id: uuid.UUID | None = None
    payload: dict[str, Any]
    at: datetime


class TimelinePublic(Public):
    checkout_id: uuid.UUID
    events: list[TimelineEntryPublic]


# -- orders and refunds -------------------------------------------------------------------


class OrderLinePublic(Public):
    sku: str
    product_id: str
    name: str
    quantity: int
    unit_price_cents: int


class OrderHistoryPublic(Public):
    from_status: str | None
    to_status: str
    reason: str | None
    at: datetime


class OrderSummaryPublic(Public):
    """An order as the list shows it: no lines and no history."""

    order_id: uuid.UUID
    checkout_id: uuid.UUID
    user_id: str
    status: str
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int
    refunded_cents: int
    currency: str
    shipping_address: dict[str, Any]
    contact: dict[str, Any]
    payment_id: uuid.UUID
    coupon_code: str | None
    created_at: datetime
    updated_at: datetime


class DeliveryEstimatePublic(Public):
    """Standard shipping's window for an order on its way (an estimate, not tracking)."""

    earliest: date
    latest: date


class OrderPublic(OrderSummaryPublic):
    """One order with its lines, its status history and, while it is on its way, when
    standard shipping brings it."""

    lines: list[OrderLinePublic] = Field(default_factory=list)
    history: list[OrderHistoryPublic] = Field(default_factory=list)
    delivery_estimate: DeliveryEstimatePublic | None = None


class OrdersPublic(Public):
    items: list[OrderSummaryPublic]
    limit: int
    offset: int


class RefundLineCreate(Create):
    sku: Text = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1000)


class RefundCreate(Create):
    """An amount, or lines, or neither (a full refund); not both. `cancels_order` cancels
    the order (not shipped yet): all that is left is refunded and, once the money is back,
    the order is `cancelled` and its stock returned; it takes neither amount nor lines."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"reason": "arrived damaged", "amount_cents": 500},
                {"reason": "changed my mind", "cancels_order": True},
            ],
            "not": {
                "anyOf": [
                    {
                        "required": ["amount_cents", "lines"],
                        "properties": {
                            "amount_cents": {"type": "integer"},
                            "lines": {"type": "array"},
                        },
                    },
                    {
                        "required": ["cancels_order", "amount_cents"],
                        "properties": {
                            "cancels_order": {"const": True},
                            "amount_cents": {"type": "integer"},
                        },
                    },
                    {
                        "required": ["cancels_order", "lines"],
                        "properties": {
                            "cancels_order": {"const": True},
                            "lines": {"type": "array"},
                        },
                    },
                ]
            },
        },
    )
    reason: Paragraph = Field(min_length=1, max_length=500)
    amount_cents: int | None = Field(None, gt=0, le=MAX_CENTS)
    lines: list[RefundLineCreate] | None = Field(None, min_length=1, max_length=100)
    cancels_order: bool = Field(
        False, description="Cancel the order: refund all that is left and return its stock"
    )

    @model_validator(mode="after")
    def _one_way(self) -> RefundCreate:
        if self.amount_cents is not None and self.lines is not None:
            raise ValueError("give amount_cents or lines, not both (neither = a full refund)")
        if self.cancels_order and (self.amount_cents is not None or self.lines is not None):
            raise ValueError(
                "a cancellation refunds the whole order: give no amount_cents or lines"
            )
        return self


class RefundPublic(Public):
    refund_id: uuid.UUID
    order_id: uuid.UUID
    user_id: str
    status: Literal["pending", "succeeded", "failed"]
    amount_cents: int
    currency: str
    reason: str
    failure_reason: str | None
    cancels_order: bool = Field(False, description="The refund that cancels its order")
    created_at: datetime


class RefundsPublic(Public):
    items: list[RefundPublic]


# -- notifications ------------------------------------------------------------------------


class NotificationPublic(Public):
    notification_id: uuid.UUID
    user_id: str
    recipient: str
    template: str
    subject: str
    body: str
    status: str
    failure_reason: str | None
    created_at: datetime
    channel: Literal["email", "sms", "push"]


class NotificationsPublic(Public):
    items: list[NotificationPublic]


# -- the assistant ------------------------------------------------------------------------

TurnState = Literal["idle", "awaiting_confirmation", "checking_out", "completed", "failed"]
"""Where a conversation is (the assistant keeps the same values in its state)."""


class MessageCreate(Create):
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
    conversation_id: str | None = Field(None, max_length=64, pattern=ID_PATTERN)
    text: Paragraph = Field(min_length=1, max_length=2000)


class ConfirmationCreate(Create):
    approve: bool
    expected_total_cents: int | None = Field(
        None, ge=0, description="The total the person saw; another pending total answers 409"
    )


class MessagePublic(Public):
    role: Literal["user", "assistant"]
    text: str
    at: datetime


class PlanStepPublic(Public):
    kind: str
    description: str


class ConfirmationLinePublic(Public):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class ConfirmationPublic(Public):
    """What awaits the person's yes: a purchase, a refund or a cancellation."""

    action: Literal["purchase", "refund", "cancel"] = Field(
        "purchase",
        description="What approving does: pay for the lines, refund them (or the amount), "
        "or cancel the order and refund it; for a refund or a cancellation `total_cents` is "
        "what goes back to the card",
    )
    order_id: str | None = Field(None, description="The order a refund or cancellation is for")
    plan: list[PlanStepPublic]
    lines: list[ConfirmationLinePublic]
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


class AssistantTurnPublic(Public):
    conversation_id: str
    messages: list[MessagePublic]
    pending: ConfirmationPublic | None = None
    checkout_id: str | None = None
    state: TurnState = "idle"


class ConversationSummaryPublic(Public):
    conversation_id: str
    title: str
    updated_at: datetime


class ConversationsPublic(Public):
    items: list[ConversationSummaryPublic]


class ConversationPublic(Public):
    conversation_id: str
    messages: list[MessagePublic]
    pending: ConfirmationPublic | None = None
    checkout_id: str | None = None
    state: TurnState = "idle"
