"""What a person can ask the assistant for, as typed models.

Both parser backends (offline and LLM) produce an `Intent`; the plan generator
consumes it. Money is in cents. JSON Schema of `ParsedMessage` is what the LLM
backend asks the model to fill (structured outputs).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_QUANTITY = 1000
"""The most units of one item (and the biggest pack size) one order can hold."""


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


MAX_QUANTITY = 1000
"""The most units of one item an order can hold (the cart's and the checkout's limit too)."""


class ItemRequest(Model):
    """One thing the person wants, as they described it."""

    query: str = Field(
        min_length=1, max_length=200, description="Product words, e.g. 'AA batteries'"
    )
    quantity: int = Field(
        1, ge=1, le=MAX_QUANTITY, description="How many units (packs count as units)"
    )
    pack_size: int | None = Field(None, ge=1, le=MAX_QUANTITY, description="e.g. 8 for 'an 8-pack'")
    brand: str | None = Field(None, max_length=80)
    attributes: dict[str, str] = Field(
        default_factory=dict, description="e.g. {'color': 'black', 'length': '2m'}"
    )
    max_unit_price_cents: int | None = Field(None, ge=0, description="Per-item price cap")
    cheapest: bool = Field(False, description="The person asked for the cheapest option")
    best_rated: bool = Field(False, description="The best rated / most popular option")
    largest: bool = Field(False, description="The biggest pack or size ('the big pack')")


class Constraints(Model):
    budget_cents: int | None = Field(None, ge=0, description="Total budget for the whole purchase")
    budget_approximate: bool = Field(
        False,
        description="The budget was said roughly ('about $20', '$20ish', '~$20'): a soft limit "
        "on the items' prices, up to 10% over it, tax and shipping on top",
    )
    substitutions_allowed: bool = True
    preferred_brands: list[str] = Field(default_factory=list)
    ship_to: str | None = Field(None, description="'home' or a named address")


class Buy(Model):
    """Buy or add items. `checkout` is True when the person wants to pay now."""

    kind: Literal["buy"] = "buy"
    items: list[ItemRequest] = Field(min_length=1, max_length=20)
    constraints: Constraints = Constraints()
    coupon_code: str | None = None
    checkout: bool = True
    explicit: bool = Field(
        True, description="False when the message only names things, with no word of wanting"
    )


class RemoveItems(Model):
    kind: Literal["remove_items"] = "remove_items"
    items: list[ItemRequest] = Field(min_length=1)


class ChangeQuantity(Model):
    """'make it three', 'only one cable'. `item` None means the last item discussed."""

    kind: Literal["change_quantity"] = "change_quantity"
    item: str | None = None
    quantity: int = Field(ge=0, le=MAX_QUANTITY)


class ViewCart(Model):
    kind: Literal["view_cart"] = "view_cart"


class Search(Model):
    kind: Literal["search"] = "search"
    query: str = Field(min_length=1, max_length=200)
    max_price_cents: int | None = Field(None, ge=0)
    cheapest: bool = False
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description="A size or colour asked about ('do you have these socks in large?')",
    )


class ApplyCoupon(Model):
    kind: Literal["apply_coupon"] = "apply_coupon"
    code: str = Field(min_length=1, max_length=64)


class Checkout(Model):
    kind: Literal["checkout"] = "checkout"
    constraints: Constraints = Constraints()
    coupon_code: str | None = None


class Reorder(Model):
    """'same as last time': repeat the person's most recent order."""

    kind: Literal["reorder"] = "reorder"
    constraints: Constraints = Constraints()


LATEST = "latest"
"""An `order_ref` for the person's most recent order ("my last order")."""
ORDER_REF = (
    "The order the person named: its id, the short number shown to them (the first 8 "
    "characters of the id), or 'latest' for their most recent order; None when they named "
    "none (their items, if any, then pick the order)"
)


class OrderStatus(Model):
    kind: Literal["order_status"] = "order_status"
    order_ref: str | None = Field(None, max_length=64, description=ORDER_REF)


class CancelOrder(Model):
    kind: Literal["cancel_order"] = "cancel_order"
    order_ref: str | None = Field(None, max_length=64, description=ORDER_REF)


class Refund(Model):
    """Return or refund items of an order (all of it when `items` is empty and no amount)."""

    kind: Literal["refund"] = "refund"
    order_ref: str | None = Field(None, max_length=64, description=ORDER_REF)
    items: list[ItemRequest] = Field(default_factory=list)
    amount_cents: int | None = Field(None, gt=0)
    reason: str = "customer request"


class Place(Model):
    """Where a price question asks about shipping to ("Denver, CO", "94103", "Texas")."""

    city: str | None = Field(None, max_length=100)
    region: str = Field(min_length=2, max_length=2, description="US state code, e.g. 'CO'")
    postal_code: str | None = Field(None, max_length=10)

    def label(self) -> str:
        if self.city:
            return f"{self.city}, {self.region}"
        return f"{self.postal_code} ({self.region})" if self.postal_code else self.region


class PriceQuote(Model):
    """'what would X cost shipped to Denver, CO?', 'how much is shipping to 94103 for two
    of Y?': the price with tax and shipping, quoted without buying or touching the cart.
    `ship_to` None means the person's saved address."""

    kind: Literal["price_quote"] = "price_quote"
    items: list[ItemRequest] = Field(min_length=1, max_length=20)
    ship_to: Place | None = None


class EmptyCart(Model):
    """'empty my cart', 'clear the basket': take every line out."""

    kind: Literal["empty_cart"] = "empty_cart"


class ListOrders(Model):
    """'show my orders'; `about` "charges" for questions about what was charged."""

    kind: Literal["list_orders"] = "list_orders"
    about: Literal["orders", "charges"] = "orders"


class ListPromotions(Model):
    """'any deals on right now?', 'what discounts do you have?': the promotions on offer."""

    kind: Literal["list_promotions"] = "list_promotions"


class Unsupported(Model):
    """A shop request the assistant cannot carry out (gift cards, subscriptions, price
    matching, other currencies or languages): `reason` says why."""

    kind: Literal["unsupported"] = "unsupported"
    reason: str = Field(min_length=1, max_length=300)


class Confirm(Model):
    kind: Literal["confirm"] = "confirm"


class Decline(Model):
    kind: Literal["decline"] = "decline"


SCOPE = "I can help you shop, check orders and handle returns."
"""The question of an `Unclear` for a request outside the assistant's job; its plan refuses."""


class Unclear(Model):
    """Nothing actionable: ask one precise question. An open request ("a gift for my dad
    under $40", "ideas for a picnic") carries what it is for in `suggest`: the question
    then comes with a few of the catalog's best sellers for it, within `budget_cents`."""

    kind: Literal["unclear"] = "unclear"
    question: str
    suggest: str | None = Field(
        None, max_length=200, description="What an open request is for: 'picnic', 'dad'"
    )
    budget_cents: int | None = Field(None, ge=0)


Intent = Annotated[
    Buy
    | RemoveItems
    | ChangeQuantity
    | ViewCart
    | Search
    | ApplyCoupon
    | Checkout
    | Reorder
    | OrderStatus
    | CancelOrder
    | Refund
    | PriceQuote
    | EmptyCart
    | ListOrders
    | ListPromotions
    | Unsupported
    | Confirm
    | Decline
    | Unclear,
    Field(discriminator="kind"),
]


class ParsedMessage(Model):
    """A parser's reading of one message."""

    intent: Intent
    notes: list[str] = Field(
        default_factory=list, description="Parts of the message that were ignored, and why"
    )
