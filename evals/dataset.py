"""The eval cases as typed models, loaded from the versioned JSONL files."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from assistant.intents import Intent
from commerce.catalog.data import catalog_products
from evals.metrics import CatalogFacts

DATASETS = Path(__file__).parent / "datasets"
DEFAULT_VERSION = "v1"
SPLITS = ("dev", "test")
# Cases refer to the person's order as "{order_id}"; plan-level runs use this id for it,
# outcome-level runs the id of the order the case's context created.
ORDER_PLACEHOLDER = "{order_id}"
PLAN_ORDER_ID = "3f2c9a4e-7b1d-4c8e-9a6f-1e2d3c4b5a69"
# A later message that is one of these approves what is pending (the person's typed yes).
APPROVALS = frozenset(
    {"yes", "yes please", "go ahead", "confirm", "y", "yep", "yeah", "ok", "okay", "sure"}
)

Outcome = Literal[
    "checkout", "cart_updated", "answer", "clarify", "refuse", "substitute", "refund", "cancel"
]
STEP_KINDS = (
    "search", "choose_variant", "add_to_cart", "remove_from_cart", "set_quantity", "view_cart",
    "apply_coupon", "quote", "confirm", "initiate_checkout", "track_checkout", "lookup_order",
    "order_status", "cancel_order", "refund", "clarify", "refuse",
)  # fmt: skip
_INTENT: TypeAdapter[Any] = TypeAdapter(Intent)


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Turn(Model):
    role: Literal["user"]
    text: str = Field(min_length=1)


class CartLine(Model):
    sku: str
    quantity: int = Field(ge=1)


class PastOrder(Model):
    ref: str
    lines: list[CartLine]


class Context(Model):
    cart: list[CartLine] = []
    orders: list[PastOrder] = []
    awaiting_confirmation: bool = False


class LineSpec(Model):
    sku_any_of: list[str] = Field(min_length=1)
    quantity: int = Field(ge=1)


class RefundDone(Model):
    """A refund of the case's order: all of it, some of its lines, or an amount."""

    kind: Literal["full", "lines", "amount"]
    skus: list[str] = []
    cents: int | None = None


class FinalState(Model):
    """What the stores hold after the conversation (tau-bench style end-state check).

    `new_order_lines`: the one order the conversation placed ([] = no order at all);
    `cart`: the cart's lines at the end (None = not checked); `pending_confirmation`:
    whether the assistant still waits for a yes/no; `refund`: what was refunded of the
    case's order (None = nothing); `order_cancelled`: the case's order is cancelled.
    """

    new_order_lines: list[LineSpec]
    cart: list[LineSpec] | None
    pending_confirmation: bool
    refund: RefundDone | None
    order_cancelled: bool


class Expected(Model):
    intent: str
    slots: dict[str, Any]
    plan: list[str]
    outcome: Outcome
    lines: list[LineSpec]
    final_state: FinalState

    def intent_dump(self, order_id: str = PLAN_ORDER_ID) -> dict[str, Any]:
        """The full expected intent as the intent models dump it (defaults filled in)."""
        raw = _substitute({"kind": self.intent, **self.slots}, order_id)
        dumped: dict[str, Any] = _INTENT.dump_python(_INTENT.validate_python(raw), mode="json")
        return dumped

    @property
    def budget_cents(self) -> int | None:
        constraints = self.slots.get("constraints") or {}
        value = constraints.get("budget_cents")
        return int(value) if value is not None else None


class Case(Model):
    id: str
    version: str
    split: Literal["dev", "test"]
    category: str
    turns: list[Turn] = Field(min_length=1)
    context: Context
    expected: Expected
    tags: list[str] = []

    def texts(self, order_id: str = PLAN_ORDER_ID) -> list[str]:
        return [t.text.replace(ORDER_PLACEHOLDER, order_id) for t in self.turns]

    @property
    def approval_in_last_message(self) -> bool:
        """The person approves a pending confirmation with the message being scored."""
        return self.expected.intent == "confirm" and self.context.awaiting_confirmation


def _substitute(value: Any, order_id: str) -> Any:
    if isinstance(value, str):
        return value.replace(ORDER_PLACEHOLDER, order_id)
    if isinstance(value, dict):
        return {k: _substitute(v, order_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, order_id) for v in value]
    return value


def dataset_path(split: str, version: str = DEFAULT_VERSION) -> Path:
    return DATASETS / version / f"{split}.jsonl"


def load_cases(split: str = "dev", version: str = DEFAULT_VERSION) -> list[Case]:
    """`split` is dev, test or all. Raises ValueError naming the bad line."""
    splits = SPLITS if split == "all" else (split,)
    cases: list[Case] = []
    for name in splits:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}: use dev, test or all")
        path = dataset_path(name, version)
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            if not text.strip():
                continue
            try:
                cases.append(Case.model_validate_json(text))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
    return cases


@cache
def catalog_facts() -> CatalogFacts:
    """Prices and seeded stock of every SKU of the demo catalog."""
    prices: dict[str, int] = {}
    stock: dict[str, int] = {}
    for product in catalog_products():
        for variant in product.variants:
            prices[variant.sku] = variant.price_cents
            stock[variant.sku] = variant.initial_stock
    return CatalogFacts(prices=prices, stock=stock)
