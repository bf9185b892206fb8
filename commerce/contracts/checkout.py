"""Messages of the checkout saga (topics `checkout.*`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from commerce.contracts.base import Command, Event
from commerce.contracts.topics import Topic
from commerce.contracts.values import (
    MAX_CHECKOUT_LINES,
    Address,
    Cents,
    CheckoutLine,
    Contact,
    Currency,
    StockLine,
    StockShortage,
    Totals,
)


class CheckoutMessage:
    """Mixin: every checkout message is keyed (partitioned) by its checkout id."""

    checkout_id: uuid.UUID

    def partition_key(self) -> str | None:
        return str(self.checkout_id)


# -- initiate -----------------------------------------------------------------------


class InitiateCheckoutCommand(CheckoutMessage, Command, topic=Topic.INITIATE_CHECKOUT):
    checkout_id: uuid.UUID
    user_id: str = Field(min_length=1, max_length=64)
    cart_id: str | None = None
    lines: list[CheckoutLine] = Field(min_length=1, max_length=MAX_CHECKOUT_LINES)
    shipping_address: Address
    contact: Contact = Contact()
    payment_token: str = Field(min_length=1, max_length=200)
    coupon_code: str | None = Field(None, max_length=64)
    quote: Totals = Field(description="The totals the customer saw and agreed to")
    source: Literal["web", "assistant", "agent", "cli", "load-test"] = "web"
    priced_at: datetime | None = Field(
        None,
        description="When the publisher priced `lines` with discount-engine and tax-calculation"
        " and found `quote` (none: it did not); the orchestrator does not price again a command"
        " priced within CHECKOUT_ORCHESTRATOR_QUOTE_FRESH_SECONDS",
    )


# -- inventory ----------------------------------------------------------------------


class ReserveInventory(CheckoutMessage, Command, topic=Topic.INVENTORY_COMMAND):
    checkout_id: uuid.UUID
    lines: list[StockLine] = Field(min_length=1)
    hold_seconds: int = Field(900, ge=1, description="Released by the sweeper after this long")


class CompensateInventory(CheckoutMessage, Command, topic=Topic.INVENTORY_COMMAND):
    checkout_id: uuid.UUID
    reason: str


class CommitInventory(CheckoutMessage, Command, topic=Topic.INVENTORY_COMMAND):
    checkout_id: uuid.UUID


class InventoryReserved(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    expires_at: datetime


class InventoryReservationFailed(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    reason: str
    shortages: list[StockShortage] = Field(default_factory=list)


class InventoryReleased(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    released_units: int = Field(ge=0, description="0 when there was nothing (left) to release")


class InventoryCommitted(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID


# -- payment ------------------------------------------------------------------------


class ProcessPayment(CheckoutMessage, Command, topic=Topic.PAYMENT_COMMAND):
    checkout_id: uuid.UUID
    user_id: str
    amount_cents: Cents
    currency: Currency
    payment_token: str


class CompensatePayment(CheckoutMessage, Command, topic=Topic.PAYMENT_COMMAND):
    checkout_id: uuid.UUID
    reason: str


class PaymentProcessed(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    payment_id: uuid.UUID
    amount_cents: Cents
    currency: Currency


class PaymentFailed(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    code: Literal["declined", "insufficient_funds", "invalid_token", "processor_error"]
    reason: str


class PaymentRefunded(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    payment_id: uuid.UUID | None = Field(None, description="None when nothing had been charged")
    amount_cents: Cents
    currency: Currency


# -- order --------------------------------------------------------------------------


class CreateOrder(CheckoutMessage, Command, topic=Topic.ORDER_COMMAND):
    checkout_id: uuid.UUID
    user_id: str
    lines: list[CheckoutLine] = Field(min_length=1)
    shipping_address: Address
    contact: Contact = Contact()
    totals: Totals
    payment_id: uuid.UUID
    coupon_code: str | None = None


class OrderCreated(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    order_id: uuid.UUID


class OrderCreationFailed(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    reason: str


# -- cart ---------------------------------------------------------------------------


class ClearCart(CheckoutMessage, Command, topic=Topic.CART_COMMAND):
    checkout_id: uuid.UUID
    user_id: str
    cart_id: str | None = None
    skus: list[str] = Field(default_factory=list, description="Lines to remove; empty = all")


class CartCleared(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    cart_id: str | None = None


class CartClearanceFailed(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    reason: str


# -- outcome ------------------------------------------------------------------------


class CheckoutCompleted(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    user_id: str
    order_id: uuid.UUID
    payment_id: uuid.UUID
    totals: Totals
    lines: list[CheckoutLine] = Field(default_factory=list)
    coupon_code: str | None = None
    contact: Contact = Contact()


class CheckoutFailed(CheckoutMessage, Event, topic=Topic.CHECKOUT_EVENTS):
    checkout_id: uuid.UUID
    user_id: str
    code: Literal[
        "out_of_stock",
        "payment_declined",
        "price_changed",
        "order_failed",
        "timeout",
        "invalid_request",
    ]
    reason: str = Field(description="A sentence a person can read")
