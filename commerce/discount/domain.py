"""Discount rules and their arithmetic, free of I/O.

Stacking: every applicable automatic rule applies, plus at most one coupon; rules apply
in order (automatic rules by id, then the coupon), each to what is left of its lines
after the rules before it, so the total discount never exceeds the subtotal and no
line goes below zero.

Allocation (`commerce.platform.money.allocate`): a rule's discount is spread over its eligible lines in proportion to what
is left of each line, by the largest-remainder method: integer cents, the parts add up
exactly to the rule's discount, and no line gets more than is left of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from commerce.contracts.money import allocate

Kind = Literal["percent", "fixed", "buy_x_get_y"]
Scope = Literal["order", "category", "sku"]


@dataclass(frozen=True)
class Line:
    sku: str
    category: str | None
    quantity: int
    unit_price_cents: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price_cents


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    kind: Kind
    value: int  # basis points for percent, cents for fixed, unused for buy_x_get_y
    scope: Scope = "order"
    scope_values: tuple[str, ...] = ()
    min_subtotal_cents: int = 0
    coupon_code: str | None = None
    buy_x: int = 0
    get_y: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    once_per_customer: bool = False
    active: bool = True

    def eligible(self, line: Line) -> bool:
        if self.scope == "order":
            return True
        if self.scope == "category":
            return line.category is not None and line.category in self.scope_values
        return line.sku in self.scope_values


@dataclass
class Applied:
    rule: Rule
    discount_cents: int
    per_line: dict[str, int] = field(default_factory=dict)


class CouponInvalid(ValueError):
    """A coupon that cannot be used, with a sentence a person can read."""


def running(rule: Rule, now: datetime) -> bool:
    """Whether a rule is on offer at `now`: active, started and not ended."""
    return (
        rule.active
        and (rule.starts_at is None or rule.starts_at <= now)
        and (rule.ends_at is None or now < rule.ends_at)
    )


def check_coupon(
    rule: Rule | None, code: str, *, now: datetime, subtotal: int, used: int, used_by_customer: bool
) -> Rule:
    if rule is None or not rule.active:
        raise CouponInvalid(f"The coupon {code} does not exist.")
    if rule.starts_at and now < rule.starts_at:
        raise CouponInvalid(f"The coupon {code} is not valid yet.")
    if rule.ends_at and now >= rule.ends_at:
        raise CouponInvalid(f"The coupon {code} has expired.")
    if rule.usage_limit is not None and used >= rule.usage_limit:
        raise CouponInvalid(f"The coupon {code} has been used up.")
    if rule.once_per_customer and used_by_customer:
        raise CouponInvalid(f"You have already used the coupon {code}.")
    if subtotal < rule.min_subtotal_cents:
        need = rule.min_subtotal_cents / 100
        raise CouponInvalid(f"The coupon {code} needs an order of at least ${need:.2f}.")
    return rule


def _rule_discount(rule: Rule, lines: list[Line], left: dict[str, int]) -> int:
    eligible = [line for line in lines if rule.eligible(line) and left[line.sku] > 0]
    base = sum(left[line.sku] for line in eligible)
    if not eligible or base == 0:
        return 0
    if rule.kind == "percent":
        return base * rule.value // 10_000
    if rule.kind == "fixed":
        return min(rule.value, base)
    # buy X get Y: in every group of X+Y eligible units, the Y cheapest are free
    units = sorted(p for line in eligible for p in [line.unit_price_cents] * line.quantity)
    group = rule.buy_x + rule.get_y
    free = (len(units) // group) * rule.get_y if group > 0 else 0
    return min(sum(units[:free]), base)


def apply_rules(lines: list[Line], rules: list[Rule], subtotal: int) -> list[Applied]:
    left = {line.sku: line.amount for line in lines}
    applied = []
    for rule in rules:
        if subtotal < rule.min_subtotal_cents:
            continue
        discount = _rule_discount(rule, lines, left)
        if discount <= 0:
            continue
        weights = {
            line.sku: left[line.sku] for line in lines if rule.eligible(line) and left[line.sku] > 0
        }
        per_line = allocate(discount, weights)
        for sku, cents in per_line.items():
            left[sku] -= cents
        applied.append(Applied(rule, sum(per_line.values()), per_line))
    return applied
