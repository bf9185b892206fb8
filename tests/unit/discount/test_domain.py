"""Discount properties without I/O: allocation adds up, stacked rules never exceed the
subtotal, and each rule's per-line split adds up to its discount."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from commerce.contracts.money import allocate
from commerce.discount.domain import Line, Rule, apply_rules, running

weights = st.dictionaries(st.text("abcdef", min_size=1, max_size=3), st.integers(0, 10**7))


@given(st.integers(-100, 10**8), weights)
def test_allocation_adds_up_and_never_exceeds_a_weight(total: int, parts: dict[str, int]) -> None:
    shares = allocate(total, parts)
    assert shares.keys() == parts.keys()
    assert sum(shares.values()) == max(0, min(total, sum(parts.values())))
    assert all(0 <= shares[k] <= parts[k] for k in parts)


@given(st.integers(1, 10**7), weights)
def test_allocation_is_proportional_to_within_a_cent(total: int, parts: dict[str, int]) -> None:
    whole = sum(parts.values())
    shares = allocate(total, parts)
    if whole:
        spread = min(total, whole)
        assert all(abs(shares[k] * whole - spread * w) < whole for k, w in parts.items())


lines = st.lists(
    st.builds(
        Line,
        sku=st.sampled_from(["A", "B", "C", "D"]),
        category=st.sampled_from(["toys", "books", None]),
        quantity=st.integers(1, 10),
        unit_price_cents=st.integers(0, 20_000),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda line: line.sku,
)
rules = st.lists(
    st.one_of(
        st.builds(Rule, id=st.just(1), name=st.just("pct"), kind=st.just("percent"), value=st.integers(0, 10_000)),
        st.builds(Rule, id=st.just(2), name=st.just("fix"), kind=st.just("fixed"), value=st.integers(0, 10**6)),
        st.builds(Rule, id=st.just(3), name=st.just("b2g1"), kind=st.just("buy_x_get_y"), value=st.just(0),
                  scope=st.just("category"), scope_values=st.just(("toys",)), buy_x=st.integers(1, 3), get_y=st.integers(1, 2)),
    ),
    max_size=3,
)  # fmt: skip


@given(lines, rules)
def test_stacked_rules_never_take_more_than_the_subtotal(
    cart: list[Line], stacked: list[Rule]
) -> None:
    subtotal = sum(line.quantity * line.unit_price_cents for line in cart)
    applied = apply_rules(cart, stacked, subtotal)
    assert 0 <= sum(a.discount_cents for a in applied) <= subtotal
    for a in applied:
        assert a.discount_cents >= 0
        assert sum(a.per_line.values()) == a.discount_cents
    per_sku: dict[str, int] = {}
    for a in applied:
        for sku, cents in a.per_line.items():
            per_sku[sku] = per_sku.get(sku, 0) + cents
    amounts = {line.sku: line.quantity * line.unit_price_cents for line in cart}
    assert all(per_sku[sku] <= amounts[sku] for sku in per_sku)


def test_a_rule_runs_from_its_start_until_its_end_while_active() -> None:
    now = datetime(2026, 11, 28, tzinfo=UTC)
    day = timedelta(days=1)
    rule = Rule(id=1, name="r", kind="fixed", value=100)
    assert running(rule, now)
    assert running(Rule(id=1, name="r", kind="fixed", value=100, starts_at=now), now)
    assert not running(Rule(id=1, name="r", kind="fixed", value=100, starts_at=now + day), now)
    assert not running(Rule(id=1, name="r", kind="fixed", value=100, ends_at=now), now)
    assert running(Rule(id=1, name="r", kind="fixed", value=100, ends_at=now + day), now)
    assert not running(Rule(id=1, name="r", kind="fixed", value=100, active=False), now)
