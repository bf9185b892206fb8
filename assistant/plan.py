"""Plans: an ordered list of typed steps the assistant will take, and how they end.

`generate_plan(intent, commerce, context)` turns a parsed intent into a checked `Plan`,
resolving products against the real catalog through a `CommerceReader` (the BFF's
product search and detail, the cart, the orders). It never touches the cart or money:
the executor runs the steps. The rules it enforces:

- every product must exist in the catalog (else the plan is a `refuse`);
- the estimated subtotal must fit the person's budget and each item its price cap
  (else `refuse`; the exact total is checked again against the quote before paying);
- an out-of-stock item gets an in-stock substitute when substitutions are allowed
  (outcome `substitute`, confirmed like any purchase) or a question when they are not;
- anything that moves money ends in `quote -> confirm -> initiate_checkout`, and a plan
  that puts `initiate_checkout` before an approved `confirm` does not validate.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.intents import (
    LATEST,
    SCOPE,
    ApplyCoupon,
    Buy,
    CancelOrder,
    ChangeQuantity,
    Checkout,
    Confirm,
    Decline,
    EmptyCart,
    Intent,
    ItemRequest,
    ListOrders,
    ListPromotions,
    OrderStatus,
    Place,
    PriceQuote,
    Refund,
    RemoveItems,
    Reorder,
    Search,
    Unclear,
    Unsupported,
    ViewCart,
)
from assistant.llm.offline import RECIPIENTS
from assistant.text import one_letter_off as _one_letter_off

StepKind = Literal[
    "search", "choose_variant", "add_to_cart", "remove_from_cart", "set_quantity", "view_cart",
    "apply_coupon", "quote", "confirm", "initiate_checkout", "track_checkout", "lookup_order",
    "order_status", "cancel_order", "refund", "clarify", "refuse", "price_lines",
    "lookup_promotions",
]  # fmt: skip
Outcome = Literal[
    "checkout", "cart_updated", "answer", "clarify", "refuse", "substitute", "refund", "cancel"
]


def money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# -- steps ----------------------------------------------------------------------------------


class SearchStep(Frozen):
    kind: Literal["search"] = "search"
    query: str
    max_price_cents: int | None = None
    results: list[str] = Field(default_factory=list, description="Product ids found, best first")

    @property
    def description(self) -> str:
        cap = f" up to {money(self.max_price_cents)}" if self.max_price_cents is not None else ""
        return f"Search the catalog for “{self.query}”{cap}"


class ChooseVariantStep(Frozen):
    kind: Literal["choose_variant"] = "choose_variant"
    query: str
    product_id: str
    sku: str
    name: str
    unit_price_cents: int = Field(ge=0)
    available: int | None = None
    substitute_for: str | None = Field(None, description="The SKU this one replaces (out of stock)")

    @property
    def description(self) -> str:
        if self.substitute_for:
            return f"Substitute {self.name} ({self.sku}, {money(self.unit_price_cents)}) for the out-of-stock {self.substitute_for}"
        return f"Choose {self.name} ({self.sku}) at {money(self.unit_price_cents)}"


class AddToCartStep(Frozen):
    kind: Literal["add_to_cart"] = "add_to_cart"
    sku: str
    name: str
    quantity: int = Field(ge=1, le=1000)
    unit_price_cents: int = Field(ge=0)

    @property
    def description(self) -> str:
        return (
            f"Add {self.quantity} x {self.name} ({money(self.unit_price_cents)} each) to the cart"
        )


class RemoveFromCartStep(Frozen):
    kind: Literal["remove_from_cart"] = "remove_from_cart"
    sku: str
    name: str

    @property
    def description(self) -> str:
        return f"Remove {self.name} from the cart"


class SetQuantityStep(Frozen):
    kind: Literal["set_quantity"] = "set_quantity"
    sku: str
    name: str
    quantity: int = Field(ge=1, le=1000)

    @property
    def description(self) -> str:
        return f"Change {self.name} to {self.quantity}"


class ViewCartStep(Frozen):
    kind: Literal["view_cart"] = "view_cart"

    @property
    def description(self) -> str:
        return "Show the cart"


class ApplyCouponStep(Frozen):
    kind: Literal["apply_coupon"] = "apply_coupon"
    code: str = Field(min_length=1, max_length=64)

    @property
    def description(self) -> str:
        return f"Apply coupon {self.code}"


class QuoteStep(Frozen):
    kind: Literal["quote"] = "quote"

    @property
    def description(self) -> str:
        return "Price the cart: discount, tax, shipping and total"


class ConfirmStep(Frozen):
    kind: Literal["confirm"] = "confirm"
    budget_cents: int | None = None
    action: Literal["purchase", "refund", "cancel"] = Field(
        "purchase", description="What the approval is for: paying, a refund, a cancellation"
    )

    @property
    def description(self) -> str:
        if self.action == "refund":
            return "Ask you to approve the refund: order, items and amount"
        if self.action == "cancel":
            return "Ask you to approve cancelling the order and refunding it"
        within = f", within your {money(self.budget_cents)} budget" if self.budget_cents else ""
        return f"Ask you to approve the exact total{within}"


class InitiateCheckoutStep(Frozen):
    kind: Literal["initiate_checkout"] = "initiate_checkout"
    payment_token: str = "tok_visa"

    @property
    def description(self) -> str:
        return "Place the order with your saved card"


class TrackCheckoutStep(Frozen):
    kind: Literal["track_checkout"] = "track_checkout"

    @property
    def description(self) -> str:
        return "Follow the checkout until the order is confirmed or undone"


class LookupOrderStep(Frozen):
    kind: Literal["lookup_order"] = "lookup_order"
    order_ref: str | None = None
    order_id: str | None = None

    @property
    def description(self) -> str:
        if self.order_ref and self.order_ref != LATEST:
            return f"Find order {self.order_ref}"
        return "Find your latest order"


class OrderStatusStep(Frozen):
    kind: Literal["order_status"] = "order_status"
    order_id: str

    @property
    def description(self) -> str:
        return f"Report the status of order {self.order_id[:8]}"


class CancelOrderStep(Frozen):
    kind: Literal["cancel_order"] = "cancel_order"
    order_id: str
    amount_cents: int = Field(ge=0)

    @property
    def description(self) -> str:
        return f"Cancel order {self.order_id[:8]} and refund {money(self.amount_cents)}"


class RefundLine(Frozen):
    sku: str
    name: str
    quantity: int = Field(ge=1)
    unit_price_cents: int = Field(0, ge=0)


class RefundStep(Frozen):
    kind: Literal["refund"] = "refund"
    order_id: str
    lines: list[RefundLine] = Field(default_factory=list)
    amount_cents: int | None = Field(None, gt=0)
    reason: str = "customer request"
    estimate_cents: int = Field(
        0,
        ge=0,
        description="What the refund comes to, as shown for approval: what was paid for the "
        "items, tax included, less their share of any discount",
    )

    @property
    def skus(self) -> list[str]:
        return [line.sku for line in self.lines]

    @property
    def description(self) -> str:
        if self.lines:
            what = ", ".join(f"{li.quantity} x {li.name}" for li in self.lines)
            return f"Return {what} from order {self.order_id[:8]} for a refund"
        if self.amount_cents:
            return f"Refund {money(self.amount_cents)} of order {self.order_id[:8]}"
        return f"Refund order {self.order_id[:8]} in full"


class PriceLinesStep(Frozen):
    """Price items that are not (necessarily) in the cart for an address: tax, shipping and
    total from the shop's pricing, with nothing added to the cart and nothing bought."""

    kind: Literal["price_lines"] = "price_lines"
    lines: list[RefundLine] = Field(min_length=1)
    ship_to: Place | None = Field(None, description="None: the person's saved address")

    @property
    def description(self) -> str:
        what = ", ".join(f"{li.quantity} x {li.name}" for li in self.lines)
        where = self.ship_to.label() if self.ship_to else "your address"
        return f"Quote {what} shipped to {where}: tax, shipping and total (nothing is bought)"


class LookupPromotionsStep(Frozen):
    """Read the promotions on offer now (nothing changes)."""

    kind: Literal["lookup_promotions"] = "lookup_promotions"

    @property
    def description(self) -> str:
        return "Read the promotions on offer now"


class ClarifyStep(Frozen):
    kind: Literal["clarify"] = "clarify"
    question: str
    about: Literal["request", "ambiguous", "substitute", "coupon"] = Field(
        "request",
        description="What the answer will settle: the request, a choice, a substitute, or "
        "whether to go on without a coupon that cannot apply",
    )

    @property
    def description(self) -> str:
        return f"Ask: {self.question}"


class RefuseStep(Frozen):
    kind: Literal["refuse"] = "refuse"
    reason: str
    code: Literal[
        "over_budget", "over_price_cap", "unknown_product", "out_of_stock", "no_address",
        "nothing_to_do", "not_allowed", "unsupported",
    ] = "not_allowed"  # fmt: skip

    @property
    def description(self) -> str:
        return f"Refuse: {self.reason}"


PlanStep = Annotated[
    SearchStep
    | ChooseVariantStep
    | AddToCartStep
    | RemoveFromCartStep
    | SetQuantityStep
    | ViewCartStep
    | ApplyCouponStep
    | QuoteStep
    | ConfirmStep
    | InitiateCheckoutStep
    | TrackCheckoutStep
    | LookupOrderStep
    | OrderStatusStep
    | CancelOrderStep
    | RefundStep
    | ClarifyStep
    | RefuseStep
    | PriceLinesStep
    | LookupPromotionsStep,
    Field(discriminator="kind"),
]

MONEY_MOVES = {"initiate_checkout"}
GIVES_BACK = {"refund": "refund", "cancel_order": "cancel"}


class Plan(Frozen):
    """Ordered steps and how the plan ends. Validation keeps the money rules structural."""

    steps: list[PlanStep] = Field(min_length=1)
    outcome: Outcome
    message: str = Field("", description="What the assistant tells the person about this plan")
    budget_cents: int | None = None
    coupon_code: str | None = None
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _money_needs_quote_and_confirm(self) -> Plan:
        kinds = [s.kind for s in self.steps]
        if "initiate_checkout" in kinds:
            at = kinds.index("initiate_checkout")
            if "confirm" not in kinds[:at] or "quote" not in kinds[: kinds.index("confirm")]:
                raise ValueError("initiate_checkout must follow a quote and a confirm step")
            if self.outcome not in ("checkout", "substitute"):
                raise ValueError(f"a {self.outcome} plan cannot initiate a checkout")
        if self.outcome in ("checkout", "substitute") and "initiate_checkout" not in kinds:
            raise ValueError(f"a {self.outcome} plan must end in a confirmed checkout")
        for kind, action in GIVES_BACK.items():
            if kind in kinds:
                before = self.steps[: kinds.index(kind)]
                if not any(isinstance(s, ConfirmStep) and s.action == action for s in before):
                    raise ValueError(f"{kind} must follow a confirm step for the {action}")
        if self.outcome == "refuse" and kinds[-1] != "refuse":
            raise ValueError("a refuse plan ends with a refuse step")
        if self.outcome == "clarify" and kinds[-1] != "clarify":
            raise ValueError("a clarify plan ends with a clarify step")
        changes = MONEY_MOVES | {"add_to_cart", "refund", "cancel_order"}
        last = self.steps[-1]
        if isinstance(last, ClarifyStep) and last.about == "coupon":
            # never run (a clarify plan goes to the question): the steps show the
            # purchase that a coupon which cannot apply is asked about
            changes = changes - {"add_to_cart"}
        if self.outcome in ("refuse", "clarify") and set(kinds) & changes:
            raise ValueError(f"a {self.outcome} plan changes nothing")
        return self

    def public(self) -> list[dict[str, str]]:
        """The plan as the contract shows it: kind and description per step."""
        return [{"kind": s.kind, "description": s.description} for s in self.steps]

    @property
    def adds(self) -> list[AddToCartStep]:
        return [s for s in self.steps if isinstance(s, AddToCartStep)]

    @property
    def estimated_subtotal_cents(self) -> int:
        return sum(s.quantity * s.unit_price_cents for s in self.adds)


# -- what the generator reads -----------------------------------------------------------------


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Variant(Loose):
    sku: str
    name: str
    price_cents: int
    attributes: dict[str, str] = Field(default_factory=dict)
    available: int | None = None


class Product(Loose):
    product_id: str
    name: str
    brand: str = ""
    category: str = ""
    description: str = ""
    product_type: str = ""
    min_price_cents: int = 0
    rating: float | None = None
    review_count: int = 0
    variants: list[Variant] = Field(default_factory=list)


class Promotion(Loose):
    """A promotion on offer: applied by itself (`coupon_code` None) or with its code."""

    name: str
    coupon_code: str | None = None
    ends_at: str | None = None


class CartLine(Loose):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    product_id: str = ""


class Cart(Loose):
    lines: list[CartLine] = Field(default_factory=list)


class OrderLine(Loose):
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    product_id: str = ""


class Order(Loose):
    order_id: str
    status: str
    total_cents: int
    refunded_cents: int = 0
    subtotal_cents: int | None = None
    discount_cents: int = 0
    tax_cents: int = 0
    shipping_cents: int = 0
    created_at: str = ""
    updated_at: str = ""
    lines: list[OrderLine] = Field(default_factory=list)
    history: list[dict[str, Any]] = Field(default_factory=list)
    delivery_estimate: dict[str, str] | None = None  # earliest, latest: ISO dates


class CommerceReader(Protocol):
    """What plan generation reads. The BFF client implements it; unit tests use a fake."""

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]: ...

    async def product(self, product_id: str) -> Product | None: ...

    async def cart(self) -> Cart: ...

    async def orders(self, limit: int = 10) -> list[Order]: ...

    async def order(self, order_id: str) -> Order | None: ...

    async def coupon_problem(self, code: str, lines: Sequence[tuple[str, int]]) -> str | None:
        """Why `code` cannot apply to these (sku, quantity) lines (unknown, expired, used,
        below its minimum), or None when it applies."""
        ...

    async def promotions(self) -> list[Promotion]:
        """The promotions on offer now."""
        ...


@runtime_checkable
class Nearest(Protocol):
    """A reader that can name what the catalog carries closest to a query it found no
    match for (the BFF client can; a reader without it just says it is not carried)."""

    def nearest(self, query: str) -> list[str]: ...


@runtime_checkable
class Related(Protocol):
    """A reader that can name the products closest in meaning to a query its search found
    no match for (what an open request's ideas are drawn from)."""

    def related(self, query: str) -> list[Product]: ...


@runtime_checkable
class Kinds(Protocol):
    """A reader that can say which kinds of product a query it searched names (the
    catalog's product types; empty when it names none)."""

    def kinds(self, query: str) -> list[str]: ...


class PlanContext(Frozen):
    """What earlier turns of the conversation left behind."""

    last_items: list[RefundLine] = Field(
        default_factory=list, description="Items last discussed (sku, name, quantity)"
    )
    budget_cents: int | None = None
    coupon_code: str | None = None
    checkout_pending: bool = Field(
        False, description="A purchase awaits approval; edits re-quote it"
    )
    has_address: bool = True


# -- generation -------------------------------------------------------------------------------


async def generate_plan(
    intent: Intent, commerce: CommerceReader, context: PlanContext | None = None
) -> Plan:
    """The checked plan for `intent`. Reads the catalog, cart and orders; changes nothing."""
    ctx = context or PlanContext()
    match intent:
        case Buy():
            return await _buy(intent, commerce, ctx)
        case Checkout():
            return await _checkout(
                intent.constraints.budget_cents, intent.coupon_code, commerce, ctx
            )
        case Reorder():
            return await _reorder(intent, commerce, ctx)
        case RemoveItems():
            return await _remove(intent, commerce, ctx)
        case ChangeQuantity():
            return await _change_quantity(intent, commerce, ctx)
        case ViewCart():
            return Plan(steps=[ViewCartStep()], outcome="answer")
        case Search():
            return await _search(intent, commerce, ctx)
        case ApplyCoupon():
            return await _checkout(ctx.budget_cents, intent.code, commerce, ctx)
        case OrderStatus():
            return await _order_status(intent, commerce)
        case CancelOrder():
            return await _cancel(intent, commerce)
        case Refund():
            return await _refund(intent, commerce)
        case PriceQuote():
            return await _price_quote(intent, commerce, ctx)
        case EmptyCart():
            return await _empty(commerce, ctx)
        case ListOrders():
            return await _list_orders(intent, commerce)
        case ListPromotions():
            return await _list_promotions(commerce)
        case Unsupported():
            return _refuse(f"{intent.reason} {SCOPE}", "unsupported")
        case Confirm() | Decline():
            return _clarify("There is nothing waiting for a yes or no. What would you like to do?")
        case Unclear() if intent.question == SCOPE:
            return _refuse(f"That is not something I can do. {SCOPE}", "unsupported")
        case Unclear() if intent.suggest:
            return await _suggest(intent, commerce)
        case Unclear():
            return _clarify(intent.question)
    return _clarify("What would you like to do?")  # pragma: no cover - the union is exhaustive


READ_ONLY = ("search", "choose_variant", "lookup_order", "view_cart")


def _clarify(
    question: str,
    steps: Sequence[PlanStep] = (),
    about: Literal["request", "ambiguous", "substitute"] = "request",
) -> Plan:
    kept = [s for s in steps if s.kind in READ_ONLY]
    return Plan(
        steps=[*kept, ClarifyStep(question=question, about=about)],
        outcome="clarify",
        message=question,
    )


def _refuse(reason: str, code: str, steps: Sequence[PlanStep] = (), **extra: Any) -> Plan:
    kept = [s for s in steps if s.kind in READ_ONLY]
    return Plan(
        steps=[*kept, RefuseStep(reason=reason, code=code)],
        outcome="refuse",
        message=reason,
        **extra,
    )


def _words(text: str) -> set[str]:
    return {w for w in re.split(r"[^a-z0-9]+", text.lower()) if w}


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _matches_attributes(variant: Variant, item: ItemRequest) -> bool:
    wanted = dict(item.attributes)
    if item.pack_size is not None:
        wanted["pack_size"] = str(item.pack_size)
    for key, value in wanted.items():
        have = variant.attributes.get(key)
        if have is None and key == "pack_size":  # the general store says pack_count
            have = variant.attributes.get("pack_count")
        if have is not None and have.lower() != value.lower():
            return False
        if have is None and value.lower() not in variant.name.lower():
            return False
    return True


def _brand_ok(product: Product, item: ItemRequest, preferred: Sequence[str]) -> bool:
    return not item.brand or item.brand.lower() in product.brand.lower()


def _in_stock(variant: Variant, quantity: int) -> bool:
    return variant.available is None or variant.available >= quantity


class _Choice:
    def __init__(self, product: Product, variant: Variant, substitute_for: str | None = None):
        self.product = product
        self.variant = variant
        self.substitute_for = substitute_for


def _pick_variant(product: Product, item: ItemRequest, *, need_stock: bool) -> Variant | None:
    cap = item.max_unit_price_cents
    # what the product itself says it is ("letter size" envelopes) holds for every variant
    said = f"{product.name} {product.description}".lower()
    varies = {k for v in product.variants for k in v.attributes}
    asked = {k: v for k, v in item.attributes.items() if k in varies or v.lower() not in said}
    if asked != item.attributes:
        item = item.model_copy(update={"attributes": asked})
    candidates = [
        v
        for v in product.variants
        if _matches_attributes(v, item)
        and (cap is None or v.price_cents <= cap)
        and (not need_stock or _in_stock(v, item.quantity))
    ]
    if not candidates:
        return None
    if item.largest:
        return max(candidates, key=lambda v: (_amount(v), -v.price_cents))
    return min(candidates, key=lambda v: (v.price_cents, v.sku))


def _amount(variant: Variant) -> float:
    """How much of the thing a variant holds, to find the biggest pack: its pack count, or
    the largest number in its count/capacity attributes or name, else its price."""
    for key in ("pack_count", "pack_size", "count"):
        if (value := variant.attributes.get(key)) and value.isdigit():
            return float(value)
    numbers = [
        float(n) for n in re.findall(r"\d+(?:\.\d+)?", ", ".join(variant.name.split(",")[1:]))
    ]
    return max(numbers, default=float(variant.price_cents))


def _spellings(text: str) -> set[str]:
    """The words of `text`, singular, plus each pair of neighbours written together
    ("usb-c" also reads as "usbc")."""
    words = [_singular(w) for w in _words(text)]
    return set(words) | {a + b for a, b in itertools.pairwise(words)}


def _word_in(word: str, text: set[str]) -> bool:
    """`word` is in `text`, or one letter off a word of it (a letter dropped, added or
    swapped with its neighbour: "cabel" for "cable")."""
    if word in text:
        return True
    return len(word) >= 4 and any(_one_letter_off(word, w) for w in text if len(w) >= 4)


def _relevant(product: Product, item: ItemRequest) -> bool:
    """At least one meaningful query word appears in the product's name or description."""
    text = _spellings(f"{product.name} {product.description} {product.brand}")
    words = {_singular(w) for w in _words(item.query)} - {"a", "an", "the", "of"}
    return not words or any(_word_in(w, text) for w in words)


def _closest(products: list[Product], item: ItemRequest) -> list[Product]:
    """The products whose names carry the most of the query's words, whole words only:
    "AA batteries" keeps AA and drops AAA, whatever their prices."""
    words = {_singular(w) for w in _words(item.query)} - {"a", "an", "the", "of"}

    def hits(product: Product) -> int:
        text = _spellings(f"{product.name} {product.brand}")
        return sum(1 for w in words if _word_in(w, text))

    best = max((hits(p) for p in products), default=0)
    return [p for p in products if hits(p) == best] if best else products


def _kind_fit(product: Product, item: ItemRequest) -> float:
    """How much of the product's kind the request names: "usb-c cable" names all of the
    kind "usb-c cable" and half of "lightning cable", so among products whose names carry
    the same words, the one of the asked kind comes first."""
    kind = _spellings(product.product_type)
    if not kind:
        return 0.0
    asked = _spellings(item.query)
    return sum(1 for w in kind if _word_in(w, asked)) / len(kind)


def popularity(product: Product) -> float:
    """What shoppers made of it: the rating, pulled towards an average 4.0 while reviews
    are few, weighted by how many reviewed it (a well-rated best seller first)."""
    reviews = product.review_count
    rating = product.rating if product.rating is not None else 4.0
    return (rating * reviews + 4.0 * 10) / (reviews + 10) * math.log1p(reviews)


def _preferred_order(products: Sequence[Product], item: ItemRequest) -> list[Product]:
    """Equally good matches as a careful person weighs them: the cheapest first when
    asked for, else those of the asked kind, then the best sellers."""
    if item.cheapest:
        return sorted(products, key=lambda p: (-_kind_fit(p, item), p.min_price_cents))
    if item.best_rated:
        return sorted(
            products, key=lambda p: (-_kind_fit(p, item), -(p.rating or 0), -p.review_count)
        )
    return sorted(products, key=lambda p: (-_kind_fit(p, item), -popularity(p)))


GENERIC_NOUNS = {"set", "kit", "pack", "collection"}


def product_kind(product: Product) -> tuple[str, str]:
    """(category, head noun of the name): what a substitute has to share with the original,
    e.g. ("toys", "kite"); "Toy Car Set" and "Play Dough Set" differ ("car set", "dough set")."""
    name = product.name.split(",")[0].lower()
    words = [w for w in re.split(r"[^a-z'-]+", name) if w and w.strip("-'")]
    words = [w for w in words if not re.search(r"\d", w)]
    if not words:
        return product.category.lower(), ""
    head = _singular(words[-1])
    if head in GENERIC_NOUNS and len(words) > 1:
        head = f"{_singular(words[-2])} {head}"
    return product.category.lower(), head


def _kind_named(product_type: str, said: str) -> str:
    """A product type in the person's words: "aa battery" asked as "batteries" reads "AA
    batteries" (short codes in capitals, the noun as they said it)."""
    words = product_type.split() or [said]
    head = said.split()[-1] if said.split() else words[-1]
    if head[:4] == words[-1][:4]:  # "batteries" for "battery"
        words[-1] = head
    return " ".join(w.upper() if len(w) <= 3 and w.isalnum() else w for w in words)


def _ambiguous(
    item: ItemRequest, products: Sequence[Product], budget: int | None = None
) -> str | None:
    """One bare word ("cable", "batteries") that names several different products: ask
    which, unless the person said the cheapest, a brand, or an attribute, or the budget
    leaves one kind ("$25 for a backpack": not the hiking kind that starts at $60)."""
    if budget is not None:
        products = [p for p in products if p.min_price_cents * item.quantity <= budget]
    words = {_singular(w) for w in _words(item.query)}
    if len(words) != 1 or item.cheapest or item.brand or item.attributes or item.pack_size:
        return None
    if item.max_unit_price_cents is not None:  # a price cap picks among them
        return None
    (word,) = words
    best_of_kind: dict[str, Product] = {}  # each kind's best seller
    for product in products[:12]:
        if word not in {_singular(w) for w in _words(product.name)}:
            continue
        kind = product.product_type.lower() or product.product_id  # untyped: its own kind
        if kind not in best_of_kind or popularity(product) > popularity(best_of_kind[kind]):
            best_of_kind[kind] = product
    if len(best_of_kind) < 2:
        # several products of one kind (pencils, pencils and pencils): the search's best
        # match is the choice a careful person makes; only different kinds are asked about
        return None
    ranked = sorted(best_of_kind.values(), key=popularity, reverse=True)
    shown = list(
        dict.fromkeys(
            _kind_named(p.product_type, item.query) if p.product_type else p.name for p in ranked
        )
    )[:4]
    return f"Which {item.query} do you mean: {', '.join(shown[:-1])} or {shown[-1]}?"


async def _resolve(
    item: ItemRequest,
    commerce: CommerceReader,
    preferred: Sequence[str],
    substitutions: bool,
    exact: OrderLine | None = None,
    budget: int | None = None,
) -> tuple[list[PlanStep], _Choice | None, str | None, str]:
    """Steps, the choice (or None), and when None the reason and its refuse/clarify code.
    `exact` (a line of an earlier order) is taken as it was when it is still in stock."""
    if exact is not None and exact.product_id:
        product = await commerce.product(exact.product_id)
        same = next((v for v in product.variants if v.sku == exact.sku), None) if product else None
        if product is not None and same is not None and _in_stock(same, item.quantity):
            return [], _Choice(product, same), None, ""
        searched, choice, reason, code = await _resolve(item, commerce, preferred, substitutions)
        if choice is None or choice.variant.sku == exact.sku:
            return searched, choice, reason, code
        shortage = f"{exact.name} is out of stock"
        if not substitutions:
            offer = f"{shortage}. Would {choice.variant.name} at {money(choice.variant.price_cents)} do instead?"
            return searched, None, offer, "ask_substitute"
        return searched, _Choice(choice.product, choice.variant, exact.sku), shortage, "substitute"
    cap = item.max_unit_price_cents
    found = await commerce.search(item.query, max_price_cents=cap, limit=20)
    products = [p for p in found if _relevant(p, item)]
    if not products and cap is not None:  # carried, above the cap: said as such below
        found = await commerce.search(item.query, limit=20)
        products = [p for p in found if _relevant(p, item)]
    if not products and (narrower := await _kind_within(item, commerce)) is not None:
        # words around the thing ("hoodie sz nothing fancy", "dog treets pupy"): the
        # longest part of the request that names a kind of product the shop carries
        item, products = narrower
    steps: list[PlanStep] = [
        SearchStep(
            query=item.query,
            max_price_cents=item.max_unit_price_cents,
            results=[p.product_id for p in products[:5]],
        )
    ]
    if not products:
        near = commerce.nearest(item.query) if isinstance(commerce, Nearest) else []
        closest = f" The closest things we carry: {'; '.join(near)}." if near else ""
        return steps, None, f"We don't carry {item.query}.{closest}", "unknown_product"
    branded = [p for p in products if _brand_ok(p, item, preferred)]
    if not branded:
        return (
            steps,
            None,
            f"I found no {item.query} by {item.brand}; the closest is {products[0].name} by {products[0].brand}.",
            "unknown_product",
        )
    if preferred:
        branded.sort(key=lambda p: not any(b.lower() in p.brand.lower() for b in preferred))
    branded = _closest(branded, item)
    if question := _ambiguous(item, branded, budget):
        return steps, None, question, "ambiguous"
    ordered = _preferred_order(branded, item)
    # the best match that has what was asked in stock, else the best that has it at all
    # (its shortage is then said), else the best match (what it lacks is then said); the
    # product detail is authoritative for stock
    best = await commerce.product(ordered[0].product_id) or ordered[0]
    having: Product | None = None
    first = best
    # the leading matches; more of them when a size, colour or pack narrows the choice
    for candidate in ordered[: 12 if item.attributes or item.pack_size else 6]:
        detail = (
            best
            if candidate is ordered[0]
            else (await commerce.product(candidate.product_id) or candidate)
        )
        if _pick_variant(detail, item, need_stock=True) is not None:
            best = detail
            break
        if having is None and _pick_variant(detail, item, need_stock=False) is not None:
            having = detail
    else:
        best = having or best
    if not substitutions and best is not first:
        # the best match lacks it in stock and the person wants no substitutes: the other
        # product is offered, and a yes takes exactly that one
        offered = _pick_variant(best, item, need_stock=True) or best.variants[0]
        asked = _pick_variant(first, item, need_stock=False)
        shortage = f"{asked.name} is out of stock" if asked else f"{first.name} does not have it"
        return (
            steps,
            None,
            f"{shortage}. You asked for no substitutions: would {offered.name} at "
            f"{money(offered.price_cents)} do instead?",
            "ask_substitute",
        )
    sizes = list(
        dict.fromkeys(v.attributes["size"] for v in best.variants if "size" in v.attributes)
    )
    worn = all(
        re.fullmatch(r"(?:XXS|XS|S|M|L|XL|XXL|XXXL|\d{1,2}(?:\.5)?)(?: \(.*\))?", z) for z in sizes
    )
    if len(sizes) > 1 and "size" not in item.attributes and worn:  # clothes: never guess
        return steps, None, f"Which size of {best.name}: {', '.join(sizes)}?", "ambiguous"
    colour = item.attributes.get("color")
    if (
        colour
        and not any("color" in v.attributes for v in best.variants)
        and colour not in item.query
    ):
        # "green tea", "black beans": a colour that is part of what the thing is
        rest = {k: v for k, v in item.attributes.items() if k != "color"}
        again = item.model_copy(
            update={"query": f"{colour} {item.query}"[:200], "attributes": rest}
        )
        return await _resolve(again, commerce, preferred, substitutions)
    variant = _pick_variant(best, item, need_stock=True)
    if variant is not None:
        return steps, _Choice(best, variant), None, ""
    any_variant = _pick_variant(best, item, need_stock=False)
    if any_variant is None:
        if item.max_unit_price_cents is not None and _pick_variant(
            best, item.model_copy(update={"max_unit_price_cents": None}), need_stock=False
        ):
            cheapest = min(v.price_cents for v in best.variants)
            return (
                steps,
                None,
                f"{best.name} costs at least {money(cheapest)}, above your {money(item.max_unit_price_cents)} cap per item.",
                "over_price_cap",
            )
        wanted = ", ".join(f"{k} {v}" for k, v in item.attributes.items()) or (
            f"{item.pack_size}-pack" if item.pack_size else "that option"
        )
        options = ", ".join(v.name for v in best.variants[:4])
        return (
            steps,
            None,
            f"{best.name} does not come in {wanted}. Options: {options}.",
            "ambiguous",
        )
    # out of stock: another variant of the same product, then another matching product
    shortage = f"{any_variant.name} is out of stock" + (
        f" (only {any_variant.available} left)" if any_variant.available else ""
    )
    relaxed = item.model_copy(update={"attributes": {}, "pack_size": None})
    other = _pick_variant(best, relaxed, need_stock=True)
    if other is not None:  # another colour, size or pack of the same product
        if not substitutions:
            return (
                steps,
                None,
                f"{shortage}. You asked for no substitutions: would {other.name} at {money(other.price_cents)} do instead?",
                "ask_substitute",
            )
        return steps, _Choice(best, other, substitute_for=any_variant.sku), shortage, "substitute"
    if not substitutions:
        return (
            steps,
            None,
            f"{shortage}, and you asked for no substitutes, so I cannot buy it now.",
            "out_of_stock",
        )
    if any_variant.available:  # some left, just not enough: another product is no answer
        return steps, None, f"{shortage}, not enough for {item.quantity}.", "out_of_stock"
    substitute = await _same_kind(best, relaxed, ordered, commerce, any_variant.sku)
    if substitute is not None:
        return steps, substitute, shortage, "substitute"
    kind = product_kind(best)[1] or "product"
    return (
        steps,
        None,
        f"{shortage}, and I have no other {kind} in stock. Would you like something else instead?",
        "ask_substitute",
    )


NARROWER_SEARCHES = 12


async def _kind_within(
    item: ItemRequest, commerce: CommerceReader
) -> tuple[ItemRequest, list[Product]] | None:
    """The item with its query cut to the longest run of its words (the rightmost first,
    where English puts the noun) that the catalog reads as a kind of product it carries;
    None when no part of it is one (then it is not carried)."""
    if not isinstance(commerce, Kinds):
        return None
    words = item.query.split()
    tried = 0
    for length in range(len(words) - 1, 0, -1):
        for start in range(len(words) - length, -1, -1):
            if tried == NARROWER_SEARCHES:
                return None
            tried += 1
            phrase = " ".join(words[start : start + length])
            found = await commerce.search(
                phrase, max_price_cents=item.max_unit_price_cents, limit=20
            )
            if found and commerce.kinds(phrase):
                narrower = item.model_copy(update={"query": phrase})
                products = [p for p in found if _relevant(p, narrower)]
                if products:
                    return narrower, products
    return None


async def _same_kind(
    original: Product,
    item: ItemRequest,
    found: Sequence[Product],
    commerce: CommerceReader,
    replaces: str,
) -> _Choice | None:
    """An in-stock product of the same category and product type as `original` (another
    kite for a kite, never a toy car), the closest in price first."""
    kind = product_kind(original)
    more = await commerce.search(kind[1], limit=20) if kind[1] else []
    seen = {original.product_id}
    candidates: list[Product] = []
    for product in [*found, *more]:
        if product.product_id not in seen and product_kind(product) == kind:
            seen.add(product.product_id)
            candidates.append(product)
    candidates.sort(key=lambda p: abs(p.min_price_cents - original.min_price_cents))
    for candidate in candidates[:8]:
        detail = await commerce.product(candidate.product_id) or candidate
        pick = _pick_variant(detail, item, need_stock=True)
        if pick is not None:
            return _Choice(detail, pick, substitute_for=replaces)
    return None


async def _buy(
    intent: Buy,
    commerce: CommerceReader,
    ctx: PlanContext,
    exact: Sequence[OrderLine] = (),
) -> Plan:
    if not intent.explicit and not intent.coupon_code and len(intent.items) == 1:
        (only,) = intent.items
        bare = len(only.query.split()) == 1 and only.quantity == 1
        if bare and not (only.attributes or only.pack_size or only.brand or only.cheapest):
            # one bare word ("headphones") with no word of wanting: what the shop has of
            # it, to choose from, rather than a purchase of one the person did not pick
            listed = await _search(Search(query=only.query), commerce, ctx)
            if any(isinstance(s, SearchStep) and s.results for s in listed.steps):
                return listed
    constraints = intent.constraints
    budget = constraints.budget_cents if constraints.budget_cents is not None else ctx.budget_cents
    steps: list[PlanStep] = []
    notes: list[str] = []
    # a budget said roughly ("about $20") is a soft limit on the items' prices: up to
    # APPROXIMATE_ALLOWANCE over it, tax and shipping on top, said so in the quote; the
    # approval is asked as for any purchase (ADR 25)
    said_budget = budget
    approximate = constraints.budget_approximate and budget is not None
    if approximate and budget is not None:
        budget = budget * (100 + APPROXIMATE_ALLOWANCE) // 100
    substituted = False
    for index, item in enumerate(intent.items):
        found, choice, reason, code = await _resolve(
            item, commerce, constraints.preferred_brands, constraints.substitutions_allowed,
            exact[index] if index < len(exact) else None, budget,
        )  # fmt: skip
        steps += found
        if (
            choice is None
            and code == "unknown_product"
            and (len(intent.items) > 1 or not intent.explicit)
        ):
            # one of several things is not carried (or is words around the request, "just
            # moved in"): said so, and the rest is still quoted
            notes.append(f"{reason} I left it out")
            continue
        if choice is None:
            assert reason is not None
            if code in ("ambiguous", "ask_substitute"):
                return _clarify(
                    reason, steps, "substitute" if code == "ask_substitute" else "ambiguous"
                )
            return _refuse(reason, code, steps, budget_cents=budget)
        if choice.substitute_for:
            substituted = True
            notes.append(f"{reason}; proposing {choice.variant.name} instead")
        steps.append(
            ChooseVariantStep(
                query=item.query, product_id=choice.product.product_id, sku=choice.variant.sku,
                name=choice.variant.name, unit_price_cents=choice.variant.price_cents,
                available=choice.variant.available, substitute_for=choice.substitute_for,
            )
        )  # fmt: skip
        steps.append(
            AddToCartStep(
                sku=choice.variant.sku,
                name=choice.variant.name,
                quantity=item.quantity,
                unit_price_cents=choice.variant.price_cents,
            )
        )
    subtotal = sum(s.quantity * s.unit_price_cents for s in steps if isinstance(s, AddToCartStep))
    if not any(isinstance(s, AddToCartStep) for s in steps):
        if not intent.explicit:
            # bare words that name nothing the shop has ("asdfghjkl", "lorem ipsum"): not
            # clearly a request to buy, so one question instead of a refusal
            said = " and ".join(f"'{i.query}'" for i in intent.items)
            return _clarify(
                f"I'm not sure what you mean by {said}. "
                + " ".join(n.removesuffix(" I left it out") for n in notes if "closest" in n)
                + " What would you like? A product name and how many helps me find it.",
                steps,
            )
        return _refuse(
            " ".join(n.removesuffix(" I left it out") for n in notes), "unknown_product", steps
        )
    if intent.checkout or ctx.checkout_pending:
        # a checkout buys the whole cart: what was in it already counts too
        adding = {s.sku: s.quantity for s in steps if isinstance(s, AddToCartStep)}
        for line in (await commerce.cart()).lines:
            if ctx.checkout_pending:
                pass
            elif line.sku not in adding:
                notes.append(
                    f"your cart already holds {line.quantity} x {line.name}; it is part of this order"
                )
            else:  # the same product: the order holds what was there and what was asked
                notes.append(
                    f"your cart already holds {line.quantity} x {line.name}, so this order has "
                    f"{line.quantity + adding[line.sku]} of it; say how many you want in all "
                    "to change that"
                )
            subtotal += line.quantity * line.unit_price_cents
    if budget is not None and subtotal > budget and not exact:
        if not all(i.cheapest for i in intent.items):
            # a careful shopper tries the cheapest products of the same kinds before saying no
            # (each unit at most what the budget leaves for it, so the search looks among
            # the ones that can fit; without that cap when none does)
            cheaper = [i.model_copy(update={"cheapest": True}) for i in intent.items]
            capped = [
                i.model_copy(update={"max_unit_price_cents": min(
                    i.max_unit_price_cents or budget, budget // i.quantity
                )})
                for i in cheaper
            ]  # fmt: skip
            plan = await _buy(intent.model_copy(update={"items": capped}), commerce, ctx)
            if plan.outcome in ("checkout", "substitute", "cart_updated") and _as_close(
                plan, steps, intent.items
            ):
                return plan
            return await _buy(intent.model_copy(update={"items": cheaper}), commerce, ctx)
        return _refuse(over_budget_message(intent.items, steps, subtotal, budget, said_budget,
                                           approximate=approximate),
                       "over_budget", steps, budget_cents=budget)  # fmt: skip
    if budget is not None and subtotal > budget:
        return _refuse(
            f"That comes to {money(subtotal)} before tax and shipping, over your {money(budget)} budget. "
            "Fewer items or a cheaper option would fit.",
            "over_budget",
            steps,
            budget_cents=budget,
        )
    if approximate and said_budget is not None and budget is not None:
        notes.append(
            f"you said about {money(said_budget)}, so I kept the items to at most "
            f"{money(budget)} (up to {APPROXIMATE_ALLOWANCE}% over a rough amount): they come to "
            f"{money(subtotal)}, and tax and shipping are on top, as the total shows"
        )
        budget = None  # the soft limit held the items; the total is the person's to approve
    coupon = intent.coupon_code or ctx.coupon_code
    if not intent.checkout and not ctx.checkout_pending:
        names = ", ".join(f"{s.quantity} x {s.name}" for s in steps if isinstance(s, AddToCartStep))
        return Plan(
            steps=steps, outcome="cart_updated", message=f"Added {names} to your cart.",
            budget_cents=budget, coupon_code=coupon, notes=notes,
        )  # fmt: skip
    if not ctx.has_address:
        return _refuse("I need a shipping address on your account first.", "no_address", steps)
    if coupon:
        steps.append(ApplyCouponStep(code=coupon))
        buying = {s.sku: s.quantity for s in steps if isinstance(s, AddToCartStep)}
        for line in (await commerce.cart()).lines:
            buying[line.sku] = buying.get(line.sku, 0) + line.quantity
        if problem := await commerce.coupon_problem(coupon, list(buying.items())):
            return _coupon_question(coupon, problem, steps, budget)
    steps += [
        QuoteStep(),
        ConfirmStep(budget_cents=budget),
        InitiateCheckoutStep(),
        TrackCheckoutStep(),
    ]
    message = "; ".join(n[0].upper() + n[1:] for n in notes)
    return Plan(
        steps=steps, outcome="substitute" if substituted else "checkout", message=message,
        budget_cents=budget, coupon_code=coupon, notes=notes,
    )  # fmt: skip


APPROXIMATE_ALLOWANCE = 10
"""How far over a budget said roughly ("about $20") the items may go, in percent."""


def over_budget_message(
    items: Sequence[ItemRequest],
    steps: Sequence[PlanStep],
    subtotal: int,
    budget: int,
    said: int | None,
    *,
    approximate: bool,
) -> str:
    """Nothing the shop has fits the budget: says so, names the closest it found and asks,
    never proposing a purchase over the budget."""
    chosen = [s for s in steps if isinstance(s, AddToCartStep)]
    closest = ", ".join(f"{s.quantity} x {s.name}" for s in chosen)
    limit = money(said if said is not None else budget)
    rough = f" (about {limit}: I allowed up to {money(budget)})" if approximate else ""
    several = len(items) > 1 or any(i.quantity > 1 for i in items)
    fewer = " Fewer items would fit;" if several else ""
    return (
        f"Nothing we carry fits your {limit} budget{rough}. The closest is {closest}, "
        f"{money(subtotal)} before tax and shipping.{fewer} I won't order over your budget: "
        f"tell me a budget of at least {money(subtotal)} to have it quoted, or what else to look for."
    )


SUGGESTIONS = 3
"""How many ideas an open request is answered with."""
OCCASIONS = frozenset({
    "birthday", "christmas", "xmas", "anniversary", "housewarming", "wedding", "graduation",
    "holiday", "holidays", "valentine", "valentines", "mother", "father", "shower", "retirement",
})  # fmt: skip


async def _suggest(intent: Unclear, commerce: CommerceReader) -> Plan:
    """An open request ("a gift for my dad under $40", "ideas for a picnic"): a few of the
    catalog's best sellers for what it is for, in stock and within the budget, one of each
    kind, in one message that ends with the question. Never a purchase; with nothing
    found, just the question."""
    theme = intent.suggest or ""
    said = [w for w in theme.split() if w not in RECIPIENTS]
    who = next((w for w in theme.split() if w in RECIPIENTS), None)
    budget = intent.budget_cents
    picked: list[Product] = []
    # what it is for first; a gift for someone or an occasion the catalog has no words
    # for ("my sister's birthday") is looked for among its gifts
    for query in dict.fromkeys(q for q in (" ".join(said), "gift") if q):
        found = await commerce.search(query, max_price_cents=budget, limit=12)
        if not found and isinstance(commerce, Related):
            found = commerce.related(query)  # ideas close in meaning ("rainy day": umbrellas)
        fitting = [
            p
            for p in found
            if any(
                _in_stock(v, 1) and (budget is None or v.price_cents <= budget) for v in p.variants
            )
        ]
        kinds: set[str] = set()
        for product in sorted(fitting, key=popularity, reverse=True):
            kind = product.product_type or product.name
            if kind not in kinds:
                kinds.add(kind)
                picked.append(product)
            if len(picked) == SUGGESTIONS:
                break
        if picked or not (who or set(said) & OCCASIONS):
            break
    if not picked:
        return _clarify(intent.question)
    what = " ".join(said)
    if who and who not in ("him", "her"):
        label = f"for your {who}" + (
            f"'s {what}" if said and set(said) <= OCCASIONS else f" ({what})" if said else ""
        )
    else:
        label = f"for “{what or theme}”"
    under = f" under {money(budget)}" if budget is not None else ""
    ideas = "\n".join(
        f"- {p.name}{' by ' + p.brand if p.brand else ''}, {money(_cheapest_fitting(p, budget))}"
        for p in picked
    )
    message = (
        f"A few ideas {label}{under}, best sellers first:\n{ideas}\n"
        f"Would one of these do? {intent.question}"
    )
    return _clarify(message)


def _cheapest_fitting(product: Product, budget: int | None) -> int:
    prices = [
        v.price_cents
        for v in product.variants
        if _in_stock(v, 1) and (budget is None or v.price_cents <= budget)
    ]
    return min(prices, default=product.min_price_cents)


async def _price_quote(intent: PriceQuote, commerce: CommerceReader, ctx: PlanContext) -> Plan:
    """The items chosen as a purchase of them would choose them, then priced for the place
    asked about: an answer, never a change to the cart."""
    if intent.ship_to is None and not ctx.has_address:
        return _clarify("Where would it ship to? A city and state or a ZIP code is enough.")
    as_buy = Buy(items=intent.items, checkout=False)
    chosen = await _buy(as_buy, commerce, ctx.model_copy(update={"checkout_pending": False}))
    if chosen.outcome != "cart_updated":
        return chosen  # a question (which one?) or what is not carried
    lines = [
        RefundLine(sku=s.sku, name=s.name, quantity=s.quantity, unit_price_cents=s.unit_price_cents)
        for s in chosen.adds
    ]
    kept = [s for s in chosen.steps if s.kind in READ_ONLY]
    return Plan(
        steps=[*kept, PriceLinesStep(lines=lines, ship_to=intent.ship_to)],
        outcome="answer", notes=chosen.notes,
    )  # fmt: skip


def _name_hits(name: str, item: ItemRequest) -> int:
    words = {_singular(w) for w in _words(item.query)} - {"a", "an", "the", "of"}
    text = _spellings(name)
    return sum(1 for w in words if _word_in(w, text))


def _as_close(plan: Plan, before: Sequence[PlanStep], items: Sequence[ItemRequest]) -> bool:
    """The cheaper plan's products match each request as closely as the first choices
    did: a cheaper product of the same kind, never another product in place of the one
    the person named ("the Trailhead trekking poles", not another brand's)."""
    first = [s for s in before if isinstance(s, ChooseVariantStep)]
    cheaper = [s for s in plan.steps if isinstance(s, ChooseVariantStep)]
    if len(first) != len(cheaper):
        return False
    return all(
        _name_hits(b.name, item) >= _name_hits(a.name, item)
        for a, b, item in zip(first, cheaper, items, strict=False)
    )


def _coupon_question(
    code: str, problem: str, steps: Sequence[PlanStep], budget: int | None
) -> Plan:
    """A coupon that cannot apply is asked about before anything is priced or confirmed,
    never silently dropped."""
    question = (
        f"{problem.rstrip('.')}. Shall I go ahead without {code}, or do you have another code?"
    )
    return Plan(
        steps=[*steps, ClarifyStep(question=question, about="coupon")],
        outcome="clarify",
        message=question,
        budget_cents=budget,
        coupon_code=code,
    )


async def _checkout(
    budget: int | None, coupon: str | None, commerce: CommerceReader, ctx: PlanContext
) -> Plan:
    budget = budget if budget is not None else ctx.budget_cents
    cart = await commerce.cart()
    if not cart.lines:
        return _clarify("Your cart is empty. What would you like to buy?", [ViewCartStep()])
    if not ctx.has_address:
        return _refuse("I need a shipping address on your account first.", "no_address")
    subtotal = sum(li.quantity * li.unit_price_cents for li in cart.lines)
    if budget is not None and subtotal > budget:
        return _refuse(
            f"Your cart comes to {money(subtotal)} before tax and shipping, over your {money(budget)} budget.",
            "over_budget",
            budget_cents=budget,
        )
    # while a purchase awaits approval the cart is already on show
    steps: list[PlanStep] = [] if ctx.checkout_pending else [ViewCartStep()]
    if coupon:
        steps.append(ApplyCouponStep(code=coupon))
        lines = [(li.sku, li.quantity) for li in cart.lines]
        if problem := await commerce.coupon_problem(coupon, lines):
            return _coupon_question(coupon, problem, steps, budget)
    steps += [
        QuoteStep(),
        ConfirmStep(budget_cents=budget),
        InitiateCheckoutStep(),
        TrackCheckoutStep(),
    ]
    return Plan(steps=steps, outcome="checkout", budget_cents=budget, coupon_code=coupon)


def _after_edit(
    steps: list[PlanStep], message: str, ctx: PlanContext, *, empties: bool = False
) -> Plan:
    """A cart edit; while a purchase awaits approval it is re-quoted and asked again, unless
    the edit empties the cart: then there is nothing left to buy."""
    if empties and ctx.checkout_pending:
        return Plan(
            steps=steps, outcome="cart_updated",
            message=f"{message} Your cart is now empty, so there is nothing to order.",
        )  # fmt: skip
    if not ctx.checkout_pending:
        return Plan(steps=steps, outcome="cart_updated", message=message)
    steps = [*steps]
    if ctx.coupon_code:
        steps.append(ApplyCouponStep(code=ctx.coupon_code))
    steps += [
        QuoteStep(),
        ConfirmStep(budget_cents=ctx.budget_cents),
        InitiateCheckoutStep(),
        TrackCheckoutStep(),
    ]
    return Plan(
        steps=steps, outcome="checkout", message=message, budget_cents=ctx.budget_cents,
        coupon_code=ctx.coupon_code,
    )  # fmt: skip


async def _empty(commerce: CommerceReader, ctx: PlanContext) -> Plan:
    lines = (await commerce.cart()).lines
    if not lines:
        return Plan(steps=[ViewCartStep()], outcome="answer", message="Your cart is already empty.")
    steps: list[PlanStep] = [RemoveFromCartStep(sku=li.sku, name=li.name) for li in lines]
    names = ", ".join(f"{li.quantity} x {li.name}" for li in lines)
    return _after_edit(steps, f"Emptied your cart (took out {names}).", ctx, empties=True)


async def _list_orders(intent: ListOrders, commerce: CommerceReader) -> Plan:
    orders = await commerce.orders(limit=10)
    lookup = LookupOrderStep()
    if not orders:
        message = "You have no orders yet, so nothing has been charged to your card."
        return Plan(steps=[lookup], outcome="answer", message=message)
    if intent.about == "orders":
        return Plan(steps=[lookup], outcome="answer", message=recent_orders(orders, 10))
    paid = sum(o.total_cents for o in orders if o.status not in ("created", "cancelled"))
    back = sum(o.refunded_cents for o in orders)
    details = "; ".join(
        f"{short_number(o.order_id)}: {money(o.total_cents)} ({o.status.replace('_', ' ')}"
        + (f", {money(o.refunded_cents)} refunded" if o.refunded_cents else "")
        + ")"
        for o in orders
    )
    message = (
        f"Your card is charged only for orders you approved. Your recent orders: {details}. "
        f"In all {money(paid)} charged and {money(back)} refunded."
    )
    return Plan(steps=[lookup], outcome="answer", message=message)


async def _list_promotions(commerce: CommerceReader) -> Plan:
    found = await commerce.promotions()
    if not found:
        message = "There are no promotions running right now."
    else:
        running = "; ".join(
            f"{p.name} (code {p.coupon_code})" if p.coupon_code else f"{p.name} (applied by itself)"
            for p in found
        )
        message = (
            f"On offer now: {running}. A code counts when you give it before you confirm an "
            "order; the others are taken off by themselves where they apply."
        )
    return Plan(steps=[LookupPromotionsStep()], outcome="answer", message=message)


def _cart_match(lines: Sequence[CartLine], query: str | None) -> list[CartLine]:
    if not query:
        return []
    words = {_singular(w) for w in _words(query)}
    return [
        li
        for li in lines
        if words <= {_singular(w) for w in _words(f"{li.name} {li.sku}")}
        or query.upper() == li.sku
        # "mousepad" for "Mouse Pad": the words written together
        or _singular(re.sub(r"[^a-z0-9]", "", query.lower()))
        in re.sub(r"[^a-z0-9]", "", li.name.lower())
    ]


async def _remove(intent: RemoveItems, commerce: CommerceReader, ctx: PlanContext) -> Plan:
    cart = await commerce.cart()
    steps: list[PlanStep] = []
    for item in intent.items:
        found = _cart_match(cart.lines, item.query)
        if not found:
            return _refuse(f"There is no {item.query} in your cart.", "nothing_to_do")
        if len(found) > 1:
            names = " or ".join(li.name for li in found)
            return _clarify(f"Which one should I remove: {names}?")
        steps.append(RemoveFromCartStep(sku=found[0].sku, name=found[0].name))
    names = ", ".join(s.name for s in steps if isinstance(s, RemoveFromCartStep))
    removed = {s.sku for s in steps if isinstance(s, RemoveFromCartStep)}
    empties = all(li.sku in removed for li in cart.lines)
    return _after_edit(steps, f"Removed {names} from your cart.", ctx, empties=empties)


async def _change_quantity(
    intent: ChangeQuantity, commerce: CommerceReader, ctx: PlanContext
) -> Plan:
    cart = await commerce.cart()
    if intent.item:
        found = _cart_match(cart.lines, intent.item)
    elif ctx.last_items:
        found = [li for li in cart.lines if li.sku == ctx.last_items[-1].sku]
    elif len(cart.lines) == 1:
        found = list(cart.lines)
    else:
        found = []
    if not found:
        return _clarify("Which item should I change?")
    if len(found) > 1:
        return _clarify(f"Which one: {' or '.join(li.name for li in found)}?")
    line = found[0]
    step: PlanStep
    if intent.quantity == 0:
        step = RemoveFromCartStep(sku=line.sku, name=line.name)
        message = f"Removed {line.name}."
        if len(cart.lines) == 1:
            return _after_edit([step], message, ctx, empties=True)
    else:
        step = SetQuantityStep(sku=line.sku, name=line.name, quantity=intent.quantity)
        message = f"{line.name}: now {intent.quantity}."
    subtotal = sum(
        (intent.quantity if li.sku == line.sku else li.quantity) * li.unit_price_cents
        for li in cart.lines
    )
    if ctx.budget_cents is not None and subtotal > ctx.budget_cents:
        return _refuse(
            f"That would make {money(subtotal)} before tax and shipping, over your {money(ctx.budget_cents)} budget.",
            "over_budget",
            budget_cents=ctx.budget_cents,
        )
    return _after_edit([step], message, ctx)


FOCUS_WORDS = frozenset({"it", "them", "these", "those", "this", "that", "one", "ones", "pair"})


def _in_focus(query: str, ctx: PlanContext) -> str | None:
    """The product of the conversation that `query` ("these socks", "it") names: the item
    last discussed whose name holds the query's words, else None."""
    wanted = {_singular(w) for w in re.findall(r"[a-z0-9]+", query.lower())} - FOCUS_WORDS
    if not wanted and ctx.last_items:  # "it", "them", "these": the item last discussed
        return ctx.last_items[-1].name.split(",")[0]
    for line in reversed(ctx.last_items):
        named = {_singular(w) for w in re.findall(r"[a-z0-9]+", line.name.lower())}
        if wanted and wanted <= named:
            return line.name.split(",")[0]
    return None


async def _variant_answer(intent: Search, commerce: CommerceReader, ctx: PlanContext) -> Plan:
    """ "Do you have these socks in large?", "does the belt come in blue?": whether the
    product (the one in focus, or those the words find) comes in that size or colour and
    has it in stock, with what it does come in; nothing is added or bought."""
    focus = _in_focus(intent.query, ctx)
    found = await commerce.search(focus or intent.query, limit=5)
    if focus:
        found = [p for p in found if p.name.lower() == focus.lower()] or found[:1]
    asked = " and ".join(
        f"size {value}" if key == "size" else value for key, value in intent.attributes.items()
    )
    step = SearchStep(query=focus or intent.query, results=[p.product_id for p in found])
    if not focus and set(intent.query.split()) <= FOCUS_WORDS:
        return _clarify(f"Which product would you like in {asked}?")
    if not found:
        return Plan(steps=[step], outcome="answer", message=f"We don't carry {intent.query}.")
    probe = ItemRequest(query=intent.query, attributes=intent.attributes)
    lines: list[str] = []
    for product in found[:3]:
        fits = [v for v in product.variants if _matches_attributes(v, probe)]
        stocked = [v for v in fits if _in_stock(v, 1)]
        if stocked:
            lines.append(
                f"- Yes: {product.name} comes in {asked}, in stock: "
                + "; ".join(f"{v.name} ({money(v.price_cents)})" for v in stocked[:3])
            )
        elif fits:
            lines.append(f"- {product.name} comes in {asked}, but that is out of stock now")
        else:
            offered = [
                ("sizes " if key == "size" else f"{key}s ")
                + ", ".join(
                    sorted({v.attributes[key] for v in product.variants if key in v.attributes})
                )
                for key in intent.attributes
                if any(key in v.attributes for v in product.variants)
            ]
            also = f"; it comes in {'; '.join(offered)}" if offered else ""
            lines.append(f"- {product.name} does not come in {asked}{also}")
    return Plan(
        steps=[step],
        outcome="answer",
        message="\n".join(lines) + "\nSay “buy …” with the size or colour to order one.",
    )


async def _search(intent: Search, commerce: CommerceReader, ctx: PlanContext) -> Plan:
    if intent.attributes:
        return await _variant_answer(intent, commerce, ctx)
    found = await commerce.search(intent.query, max_price_cents=intent.max_price_cents, limit=5)
    if intent.cheapest:
        found = sorted(found, key=lambda p: p.min_price_cents)
    step = SearchStep(
        query=intent.query,
        max_price_cents=intent.max_price_cents,
        results=[p.product_id for p in found],
    )
    if not found:
        near = commerce.nearest(intent.query) if isinstance(commerce, Nearest) else []
        closest = f" The closest things we carry: {'; '.join(near)}." if near else ""
        return Plan(
            steps=[step], outcome="answer", message=f"We don't carry {intent.query}.{closest}"
        )
    lines = [f"- {p.name} by {p.brand}, from {money(p.min_price_cents)}" for p in found]
    return Plan(
        steps=[step],
        outcome="answer",
        message="Here is what I found:\n" + "\n".join(lines) + "\nSay “buy …” to order one.",
    )


async def _reorder(intent: Reorder, commerce: CommerceReader, ctx: PlanContext) -> Plan:
    orders = await commerce.orders(limit=5)
    if not orders:
        return _clarify(
            "You have no earlier orders for me to repeat. What would you like? A product name "
            "and how many helps me find it."
        )
    last = await commerce.order(orders[0].order_id) or orders[0]
    items = [
        ItemRequest(query=line.name.split(",")[0][:200], quantity=line.quantity)
        for line in last.lines
    ]
    if not items:
        return _refuse("I could not read the items of your last order.", "nothing_to_do")
    buy = Buy(items=items, constraints=intent.constraints)
    return await _buy(buy, commerce, ctx, exact=last.lines)


def short_number(order_id: str) -> str:
    """The order number the assistant and the UI show: the id's first eight characters."""
    return order_id[:8]


def _same_ref(order_id: str, ref: str) -> bool:
    """`ref` names this order: its full id, or (six characters or more) the start of it,
    the short number shown being the first eight."""
    full = order_id.lower()
    ref = ref.lower().strip(" #")
    if ref == full or ref == full.replace("-", ""):
        return True
    return len(ref) >= 6 and full.replace("-", "").startswith(ref.replace("-", ""))


def _order_line(order: Order) -> str:
    day = order.created_at[:10]
    placed = f", placed {day}" if day else ""
    status = order.status.replace("_", " ")
    return f"{short_number(order.order_id)} ({money(order.total_cents)}, {status}{placed})"


def recent_orders(orders: Sequence[Order], count: int = 5) -> str:
    """'Your recent orders: 1a2b3c4d ($9.39, delivered, placed 2026-11-20); …'."""
    if not orders:
        return "You have no orders yet."
    return "Your recent orders: " + "; ".join(_order_line(o) for o in orders[:count]) + "."


def _lines_match(order: Order, items: Sequence[ItemRequest]) -> bool:
    for item in items:
        wanted = {_singular(w) for w in _words(item.query)}
        if not any(
            wanted <= {_singular(w) for w in _words(f"{li.name} {li.sku}")} for li in order.lines
        ):
            return False
    return True


def refund_for_lines(order: Order, lines: Sequence[RefundLine]) -> int:
    """What returning `lines` gives back, as the refund service works it out: each line's
    price less its share of the discount plus its share of the tax."""
    from commerce.contracts.refunds import amount_for_lines, paid_per_line
    from commerce.contracts.values import CheckoutLine, Totals

    subtotal = sum(li.quantity * li.unit_price_cents for li in order.lines)
    try:
        totals = Totals(
            subtotal_cents=order.subtotal_cents if order.subtotal_cents is not None else subtotal,
            discount_cents=order.discount_cents,
            tax_cents=order.tax_cents,
            shipping_cents=order.shipping_cents,
            total_cents=order.total_cents,
        )
        paid = paid_per_line(
            [
                CheckoutLine(
                    sku=li.sku,
                    product_id=li.product_id or li.sku,
                    name=li.name,
                    quantity=li.quantity,
                    unit_price_cents=li.unit_price_cents,
                )
                for li in order.lines
            ],
            totals,
        )
        return amount_for_lines(paid, {li.sku: li.quantity for li in lines})
    except ValueError:  # an order the assistant cannot price line by line: the prices
        return sum(li.quantity * li.unit_price_cents for li in lines)


class OrderNotFound(Exception):
    """The person's words name none of their orders (or several): `plan` says so."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(plan.message)
        self.plan = plan


async def _find_order(
    ref: str | None, commerce: CommerceReader, items: Sequence[ItemRequest] = ()
) -> tuple[LookupOrderStep, Order | None]:
    """The one order the person named, exactly: a full id or the short number shown, the
    orders holding the products they name (searched across all their orders), or, with
    neither, their latest order. A reference that names no order (or several) raises
    `OrderNotFound` with the answer to give; another order is never taken in its place."""
    orders = await commerce.orders(limit=50)
    lookup = LookupOrderStep(order_ref=ref)
    match: Order | None = None
    if ref == LATEST:
        match = orders[0] if orders else None
    elif ref:
        found = [o for o in orders if _same_ref(o.order_id, ref)]
        if not found:
            raise OrderNotFound(
                _refuse(
                    f"I can't find order {ref.strip(' #')} among your orders. "
                    + recent_orders(orders)
                    + " Which one do you mean?",
                    "nothing_to_do",
                    [lookup],
                )
            )
        if len(found) > 1:
            raise OrderNotFound(
                _clarify(
                    f"Several of your orders start with {ref}: "
                    + ", ".join(short_number(o.order_id) for o in found[:5])
                    + ". Which one do you mean?",
                    [lookup],
                )
            )
        match = found[0]
    elif items:
        detailed = [await commerce.order(o.order_id) or o for o in orders]
        found = [o for o in detailed if _lines_match(o, items)]
        what = " and ".join(i.query for i in items)
        if not found:
            raise OrderNotFound(
                _refuse(
                    f"I can't find {what} in any of your orders. " + recent_orders(detailed),
                    "nothing_to_do",
                    [lookup],
                )
            )
        if len(found) > 1:
            raise OrderNotFound(
                _clarify(
                    f"{what.capitalize()} is in {len(found)} of your orders: "
                    + "; ".join(_order_line(o) for o in found[:5])
                    + ". Which order do you mean?",
                    [lookup],
                )
            )
        match = found[0]
    elif orders:
        match = orders[0]
    if match is not None and not match.lines:
        match = await commerce.order(match.order_id) or match
    return lookup.model_copy(update={"order_id": match.order_id if match else None}), match


STATUS_WORDS = {
    "created": "has been placed and is being confirmed",
    "confirmed": "is confirmed and waiting to ship",
    "shipped": "has shipped",
    "delivered": "was delivered",
    "cancelled": "was cancelled",
    "partially_refunded": "was partly refunded",
    "refunded": "was refunded in full",
}


async def _order_status(intent: OrderStatus, commerce: CommerceReader) -> Plan:
    try:
        lookup, order = await _find_order(intent.order_ref, commerce)
    except OrderNotFound as exc:
        return exc.plan
    if order is None:
        what = "any orders"
        return _refuse(f"I could not find {what} on your account.", "nothing_to_do", [lookup])
    items = ", ".join(f"{li.quantity} x {li.name}" for li in order.lines) or "your items"
    status = STATUS_WORDS.get(order.status, f"is {order.status}")
    message = f"Your order {order.order_id[:8]} ({items}, {money(order.total_cents)}) {status}."
    if window := _delivery_window(order):
        message += (
            f" With standard shipping it should arrive {window} (our usual shipping times; "
            "there is no tracking number yet)."
        )
    return Plan(
        steps=[lookup, OrderStatusStep(order_id=order.order_id)], outcome="answer", message=message
    )


def _delivery_window(order: Order) -> str | None:
    """'between Tue Dec 1 and Thu Dec 3' from the order's delivery estimate, if it has one."""
    estimate = order.delivery_estimate or {}
    try:
        days = [date.fromisoformat(estimate[k]) for k in ("earliest", "latest")]
    except (KeyError, ValueError):
        return None
    earliest, latest = (f"{d:%a %b} {d.day}" for d in days)
    return f"on {earliest}" if days[0] == days[1] else f"between {earliest} and {latest}"


NO_ORDERS = "I found no orders on your account. Which order do you mean? Its number helps."


async def _cancel(intent: CancelOrder, commerce: CommerceReader) -> Plan:
    try:
        lookup, order = await _find_order(intent.order_ref, commerce)
    except OrderNotFound as exc:
        return exc.plan
    if order is None and intent.order_ref is None:
        return _clarify(NO_ORDERS, [lookup])
    if order is None:
        return _clarify(NO_ORDERS, [lookup])
    if order.status in ("shipped", "delivered", "partially_refunded"):
        return _refuse(
            f"Order {order.order_id[:8]} {STATUS_WORDS[order.status]}, so it can no longer be cancelled; "
            "I can start a return instead.",
            "not_allowed",
            [lookup],
        )
    if order.status in ("cancelled", "refunded"):
        return _refuse(
            f"Order {order.order_id[:8]} {STATUS_WORDS[order.status]} already.",
            "nothing_to_do",
            [lookup],
        )
    amount = order.total_cents - order.refunded_cents
    items = ", ".join(f"{li.quantity} x {li.name}" for li in order.lines) or "its items"
    return Plan(
        steps=[
            lookup,
            ConfirmStep(action="cancel"),
            CancelOrderStep(order_id=order.order_id, amount_cents=amount),
        ],
        outcome="cancel",
        message=f"Cancel order {order.order_id[:8]} ({items}) and refund {money(amount)}?",
    )


async def _refund(intent: Refund, commerce: CommerceReader) -> Plan:
    try:
        lookup, order = await _find_order(intent.order_ref, commerce, intent.items)
    except OrderNotFound as exc:
        return exc.plan
    if order is None and intent.order_ref is None:
        return _clarify(NO_ORDERS, [lookup])
    if order is None:
        return _clarify(NO_ORDERS, [lookup])
    if order.status not in ("confirmed", "shipped", "delivered", "partially_refunded"):
        return _refuse(
            f"Order {order.order_id[:8]} {STATUS_WORDS.get(order.status, 'is ' + order.status)}; it cannot be refunded.",
            "not_allowed",
            [lookup],
        )
    lines: list[RefundLine] = []
    for item in intent.items:
        found = [
            li
            for li in order.lines
            if {_singular(w) for w in _words(item.query)}
            <= {_singular(w) for w in _words(f"{li.name} {li.sku}")}
        ]
        if not found:
            return _refuse(
                f"Order {order.order_id[:8]} has no {item.query}.", "nothing_to_do", [lookup]
            )
        if len(found) > 1:
            return _clarify(
                f"Which one should I return: {' or '.join(li.name for li in found)}?", [lookup]
            )
        quantity = min(item.quantity, found[0].quantity)
        lines.append(
            RefundLine(
                sku=found[0].sku, name=found[0].name, quantity=quantity,
                unit_price_cents=found[0].unit_price_cents,
            )
        )  # fmt: skip
    if intent.amount_cents and intent.amount_cents > order.total_cents - order.refunded_cents:
        return _refuse(
            f"You paid {money(order.total_cents)} for order {order.order_id[:8]} "
            f"({money(order.refunded_cents)} refunded already); I cannot refund {money(intent.amount_cents)}.",
            "not_allowed",
            [lookup],
        )
    left = order.total_cents - order.refunded_cents
    estimate = min(left, refund_for_lines(order, lines)) if lines else (intent.amount_cents or left)
    step = RefundStep(
        order_id=order.order_id,
        lines=lines,
        amount_cents=None if lines else intent.amount_cents,
        reason=intent.reason,
        estimate_cents=estimate,
    )
    return Plan(
        steps=[lookup, ConfirmStep(action="refund"), step],
        outcome="refund",
        message=step.description + "?",
    )
