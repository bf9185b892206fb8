"""The seeded catalog, one case's cart and orders, read the way plan generation reads them.

Plan-level scoring needs a `CommerceReader` without starting services: this one serves
the demo catalog exactly as the catalog service seeds it (same products, SKUs, prices
and stock) and the cart and past orders a case starts from. Its search ranks products
by matching words (with typo tolerance), not by PostgreSQL's full-text and trigram
ranking; the outcome-level run uses the real services instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any

from assistant.plan import Cart, CartLine, Order, OrderLine, Product, Promotion, Variant
from assistant.spelling import catalog_words
from commerce.catalog.data import catalog_products
from commerce.catalog.search import ProductTypes
from commerce.discount.domain import (
    CouponInvalid,
    Line,
    Rule,
    apply_rules,
    check_coupon,
    running,
)
from commerce.discount.routes import RuleIn
from commerce.discount.seed import DEMO_RULES
from commerce.pricing import shipping_cents
from commerce.tax.domain import line_tax
from commerce.tax.seed import RATES
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
            product_type=p.product_type,
            rating=p.rating,
            review_count=p.review_count,
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


@cache
def _types() -> ProductTypes:
    products = catalog_products()
    return ProductTypes(
        {p.product_id: p.product_type for p in products if p.product_type},
        {p.product_id: p.name for p in products},
        {v for p in products for a in (p.attributes, *(x.attributes for x in p.variants))
         for v in a.values()},
    )  # fmt: skip


@cache
def _vocabulary() -> Mapping[str, int]:
    """The catalog's words as the BFF reads them for typo correction (names, brands, kinds,
    departments)."""
    return catalog_words(
        field
        for p in catalog_products()
        for field in (p.name, p.brand, p.product_type or "", p.category)
    )


@dataclass
class SnapshotCommerce:
    """A `CommerceReader` over the seeded catalog plus this case's cart and orders."""

    cart_lines: dict[str, int] = field(default_factory=dict)
    past_orders: list[Order] = field(default_factory=list)
    near: dict[str, list[str]] = field(default_factory=dict)

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        """Word-matched products, with the catalog search's type guard and verdict: when
        the query names a kind of thing the catalog has, products of that kind only; else
        products whose text holds every word; else none (and `nearest` names the closest)."""
        words = tokens(query)
        named = _types().named_by(query)
        scored = []
        for index, (product, name_words, text_words) in enumerate(_catalog()):
            score = 0.0
            found = 0
            for w in words:
                if any(_token_match(w, n) for n in name_words):
                    score += 2
                    found += 1
                elif any(_token_match(w, t) for t in text_words):
                    score += 0.5
                    found += 1
            if score == 0 or (
                max_price_cents is not None and product.min_price_cents > max_price_cents
            ):
                continue
            exact = sum(1 for w in words if w in name_words)
            of_kind = named is not None and product.product_id in named.products
            scored.append((not of_kind, -score, -exact, len(name_words), index, found, product))
        scored.sort(key=lambda t: t[:5])
        matched = [t for t in scored if not t[0]] or [t for t in scored if t[5] == len(words)]
        if not matched:
            self.near[query] = [t[6].name for t in scored[:3]]
            return []
        return [t[6] for t in (scored if named else matched)[:limit]]

    async def vocabulary(self) -> Mapping[str, int]:
        return _vocabulary()

    async def quote_lines(
        self, lines: Sequence[tuple[str, int]], address: dict[str, Any]
    ) -> dict[str, Any]:
        return quote_lines(lines, address)

    def kinds(self, query: str) -> list[str]:
        """The product types `query` names, as the catalog search reads it."""
        named = _types().named_by(query)
        return list(named.types) if named else []

    def nearest(self, query: str) -> list[str]:
        """What the catalog carries closest to `query`, when its search found no match."""
        return self.near.get(query, [])

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

    async def promotions(self) -> list[Promotion]:
        """The seeded rules on offer now, as the discount engine lists them."""
        now = datetime.now(UTC)
        return [
            Promotion(
                name=r.name,
                coupon_code=r.coupon_code,
                ends_at=r.ends_at.isoformat() if r.ends_at else None,
            )
            for r in _rules()
            if running(r, now)
        ]

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


def quote_lines(lines: Sequence[tuple[str, int]], address: dict[str, Any]) -> dict[str, Any]:
    """(sku, quantity) lines priced for `address` as the services price them on the seeded
    data: catalog prices, the active coupon-free rules of the discount engine, the tax
    service's seeded rates (shipping taxed where that state taxes it) and the pricing
    rule for shipping. `ValueError` for a place without a rate."""
    now = datetime.now(UTC)
    sold = [(sku, quantity, *variant(sku)) for sku, quantity in lines]
    ruled = [Line(sku, p.category or None, quantity, v.price_cents) for sku, quantity, p, v in sold]
    subtotal = sum(line.amount for line in ruled)
    active = [r for r in _rules() if r.coupon_code is None and running(r, now)]
    discounts = {line.sku: 0 for line in ruled}
    for applied in apply_rules(ruled, active, subtotal):
        for sku, cents in applied.per_line.items():
            discounts[sku] += cents
    discount = sum(discounts.values())
    shipping = shipping_cents(subtotal, discount)
    region = str(address.get("region") or "").upper()
    rates = {row[1]: row for row in RATES if row[0] == str(address.get("country"))}
    rate = rates.get(region) or rates.get("*")
    if rate is None:
        raise ValueError(
            f"We cannot ship to or calculate tax for {address.get('country')}-{region} yet."
        )
    tax = sum(line_tax(q, v.price_cents, discounts[sku], rate[2])[1] for sku, q, _, v in sold)
    tax += line_tax(1, shipping, 0, rate[2])[1] if rate[5] else 0
    return {
        "lines": [
            {"sku": sku, "name": v.name, "quantity": q, "unit_price_cents": v.price_cents,
             "discount_cents": discounts[sku]}
            for sku, q, _, v in sold
        ],
        "totals": {
            "subtotal_cents": subtotal, "discount_cents": discount, "tax_cents": tax,
            "shipping_cents": shipping, "total_cents": subtotal - discount + tax + shipping,
            "currency": "USD",
        },
        "jurisdiction": f"{address.get('country')}-{region}" if region in rates else str(address.get("country")),
    }  # fmt: skip


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
