"""The seeded catalog, one case's cart and orders, read the way plan generation reads them.

Plan-level scoring needs a `CommerceReader` without starting services: this one serves
the demo catalog exactly as the catalog service seeds it (same products, SKUs, prices
and stock) and the cart and past orders a case starts from. Its search ranks products
by matching words (with typo tolerance), not by PostgreSQL's full-text and trigram
ranking; the outcome-level run uses the real services instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cache

from assistant.plan import Cart, CartLine, Order, OrderLine, Product, Variant
from commerce.catalog.data import catalog_products
from commerce.discount.domain import CouponInvalid, Rule, check_coupon
from commerce.discount.routes import DEMO_RULES, RuleIn
from evals.metrics import _token_match, tokens


@cache
def _catalog() -> tuple[tuple[Product, frozenset[str], frozenset[str]], ...]:
    rows = []
    for p in catalog_products():
        product = Product(
            product_id=p.product_id,
            name=p.name,
            brand=p.brand,
            category=p.category,
            description=p.description,
            min_price_cents=min(v.price_cents for v in p.variants),
            variants=[
                Variant(
                    sku=v.sku,
                    name=v.name,
                    price_cents=v.price_cents,
                    attributes=dict(v.attributes),
                    available=v.initial_stock,
                )
                for v in p.variants
            ],
        )
        name_words = frozenset(tokens(f"{p.name} {p.brand}"))
        text_words = frozenset(tokens(f"{p.description} {p.category}"))
        rows.append((product, name_words, text_words))
    return tuple(rows)


def variant(sku: str) -> tuple[Product, Variant]:
    for product, _, _ in _catalog():
        for v in product.variants:
            if v.sku == sku:
                return product, v
    raise KeyError(sku)


@dataclass
class SnapshotCommerce:
    """A `CommerceReader` over the seeded catalog plus this case's cart and orders."""

    cart_lines: dict[str, int] = field(default_factory=dict)
    past_orders: list[Order] = field(default_factory=list)

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        words = tokens(query)
        scored = []
        for index, (product, name_words, text_words) in enumerate(_catalog()):
            score = 0.0
            for w in words:
                if any(_token_match(w, n) for n in name_words):
                    score += 2
                elif any(_token_match(w, t) for t in text_words):
                    score += 0.5
            if score == 0 or (
                max_price_cents is not None and product.min_price_cents > max_price_cents
            ):
                continue
            exact = sum(1 for w in words if w in name_words)
            scored.append((-score, -exact, len(name_words), index, product))
        scored.sort(key=lambda t: t[:4])
        return [t[4] for t in scored[:limit]]

    async def product(self, product_id: str) -> Product | None:
        return next((p for p, _, _ in _catalog() if p.product_id == product_id), None)

    async def cart(self) -> Cart:
        lines = []
        for sku, quantity in self.cart_lines.items():
            product, v = variant(sku)
            lines.append(
                CartLine(
                    sku=sku,
                    name=v.name,
                    quantity=quantity,
                    unit_price_cents=v.price_cents,
                    product_id=product.product_id,
                )
            )
        return Cart(lines=lines)

    async def orders(self, limit: int = 10) -> list[Order]:
        return self.past_orders[:limit]

    async def order(self, order_id: str) -> Order | None:
        return next((o for o in self.past_orders if o.order_id == order_id), None)

    async def coupon_problem(self, code: str, lines: Sequence[tuple[str, int]]) -> str | None:
        """The discount engine's coupon rules over the seeded coupons; nobody has used one."""
        subtotal = sum(variant(sku)[1].price_cents * quantity for sku, quantity in lines)
        rule = next((r for r in _rules() if (r.coupon_code or "").upper() == code.upper()), None)
        try:
            check_coupon(
                rule, code.upper(), now=datetime.now(UTC), subtotal=subtotal, used=0,
                used_by_customer=False,
            )  # fmt: skip
        except CouponInvalid as exc:
            return str(exc)
        return None


@cache
def _rules() -> tuple[Rule, ...]:
    names = {f.name for f in fields(Rule)}
    rules = []
    for index, raw in enumerate(DEMO_RULES, 1):
        values = {k: v for k, v in RuleIn.model_validate(raw).model_dump().items() if k in names}
        values["scope_values"] = tuple(values.get("scope_values") or ())
        rules.append(Rule(id=index, **values))
    return tuple(rules)


def past_order(order_id: str, lines: list[tuple[str, int]], status: str = "confirmed") -> Order:
    order_lines = []
    for sku, quantity in lines:
        product, v = variant(sku)
        order_lines.append(
            OrderLine(
                sku=sku,
                name=v.name,
                quantity=quantity,
                unit_price_cents=v.price_cents,
                product_id=product.product_id,
            )
        )
    subtotal = sum(li.quantity * li.unit_price_cents for li in order_lines)
    return Order(
        order_id=order_id,
        status=status,
        total_cents=subtotal + (0 if subtotal >= 5000 else 599),
        lines=order_lines,
    )
