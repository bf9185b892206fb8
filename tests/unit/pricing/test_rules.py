"""Discount allocation and tax rounding: integer cents that add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commerce.contracts.money import allocate
from commerce.discount.domain import CouponInvalid, Line, Rule, apply_rules, check_coupon
from commerce.pricing.shipping import shipping_cents
from commerce.tax.domain import line_tax, round_half_up


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (100, {"a": 500, "b": 500, "c": 500}, {"a": 34, "b": 33, "c": 33}),
        (287, {"a": 1878, "b": 999}, {"a": 187, "b": 100}),  # 187.34 / 99.65: the .65 gets the cent
        (5, {"a": 3, "b": 0}, {"a": 3, "b": 0}),  # never more than a line has
        (0, {"a": 10}, {"a": 0}),
    ],
)
def test_largest_remainder_allocation(
    total: int, weights: dict[str, int], expected: dict[str, int]
) -> None:
    shares = allocate(total, weights)
    assert shares == expected
    assert sum(shares.values()) == min(total, sum(weights.values()))


def test_rules_stack_without_exceeding_the_subtotal() -> None:
    lines = [Line("A", "toys", 3, 1000), Line("B", "books", 1, 500)]
    rules = [
        Rule(1, "toys b2g1", "buy_x_get_y", 0, "category", ("toys",), buy_x=2, get_y=1),
        Rule(2, "90% off", "percent", 9000),
        Rule(3, "$50 off", "fixed", 5000),
    ]
    applied = apply_rules(lines, rules, subtotal=3500)
    assert [a.discount_cents for a in applied] == [1000, 2250, 250]
    assert sum(a.discount_cents for a in applied) == 3500


def test_percent_on_a_category_only() -> None:
    lines = [Line("A", "outdoors", 1, 2999), Line("B", "kitchen", 1, 1000)]
    (applied,) = apply_rules(
        lines, [Rule(1, "10% outdoors", "percent", 1000, "category", ("outdoors",))], 3999
    )
    assert applied.per_line == {"A": 299}


def test_coupon_checks_say_why() -> None:
    now = datetime.now(UTC)
    rule = Rule(
        1,
        "x",
        "fixed",
        500,
        coupon_code="WELCOME5",
        once_per_customer=True,
        min_subtotal_cents=1000,
    )
    with pytest.raises(CouponInvalid, match="does not exist"):
        check_coupon(None, "NOPE", now=now, subtotal=5000, used=0, used_by_customer=False)
    with pytest.raises(CouponInvalid, match="already used"):
        check_coupon(rule, "WELCOME5", now=now, subtotal=5000, used=1, used_by_customer=True)
    with pytest.raises(CouponInvalid, match=r"at least \$10.00"):
        check_coupon(rule, "WELCOME5", now=now, subtotal=999, used=0, used_by_customer=False)
    expired = Rule(2, "y", "percent", 1000, coupon_code="OLD", ends_at=now - timedelta(days=1))
    with pytest.raises(CouponInvalid, match="expired"):
        check_coupon(expired, "OLD", now=now, subtotal=5000, used=0, used_by_customer=False)
    limited = Rule(3, "z", "percent", 1000, coupon_code="ONCE", usage_limit=1)
    with pytest.raises(CouponInvalid, match="used up"):
        check_coupon(limited, "ONCE", now=now, subtotal=5000, used=1, used_by_customer=False)


def test_tax_rounds_half_up_per_line() -> None:
    assert round_half_up(5, 10) == 1 and round_half_up(4, 10) == 0 and round_half_up(15, 10) == 2
    assert line_tax(2, 939, 188, 725) == (1690, 123)  # 122.525 -> 123
    assert line_tax(1, 100, 200, 725) == (0, 0)  # a discount never makes tax negative


def test_shipping_rule() -> None:
    assert shipping_cents(4999, 0) == 599
    assert shipping_cents(6000, 1001) == 599
    assert shipping_cents(6000, 1000) == 0
