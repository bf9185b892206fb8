"""Order rules without I/O: the status machine, refunds moving it on, the totals check."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.order.domain import (
    SOLD,
    TRANSITIONS,
    IllegalTransition,
    Status,
    add_business_days,
    after_refund,
    cancellable,
    delivery_estimate,
    returns_stock,
    totals_problem,
    transition,
)


@pytest.mark.parametrize("current", list(Status))
@pytest.mark.parametrize("target", list(Status))
def test_only_the_listed_transitions_are_allowed(current: Status, target: Status) -> None:
    if target in TRANSITIONS[current]:
        assert transition(current.value, target) is target
    else:
        with pytest.raises(
            IllegalTransition, match=f"is {current.value} cannot become {target.value}"
        ):
            transition(current.value, target)


def test_final_states_go_nowhere_and_sold_orders_are_past_confirmation() -> None:
    assert TRANSITIONS[Status.REFUNDED] == TRANSITIONS[Status.CANCELLED] == set()
    assert Status.CREATED not in SOLD and Status.CANCELLED not in SOLD


@pytest.mark.parametrize(
    ("current", "refunded", "expected"),
    [
        ("confirmed", 100, Status.PARTIALLY_REFUNDED),
        ("confirmed", 1000, Status.REFUNDED),
        ("shipped", 1200, Status.REFUNDED),
        ("partially_refunded", 500, Status.PARTIALLY_REFUNDED),
        ("delivered", 999, Status.PARTIALLY_REFUNDED),
    ],
)
def test_a_refund_moves_the_order_to_partly_or_wholly_refunded(
    current: str, refunded: int, expected: Status
) -> None:
    assert after_refund(current, 1000, refunded) is expected


@pytest.mark.parametrize(
    ("current", "shipped", "refunded", "expected"),
    [
        ("confirmed", False, 1000, Status.CANCELLED),
        ("partially_refunded", False, 1000, Status.CANCELLED),  # a refund before, never shipped
        ("partially_refunded", True, 1000, Status.REFUNDED),  # shipped: refunded, not cancelled
        ("shipped", True, 1000, Status.REFUNDED),
        ("delivered", True, 1000, Status.REFUNDED),
    ],
)
def test_the_refund_that_cancels_an_order_cancels_it_until_it_ships(
    current: str, shipped: bool, refunded: int, expected: Status
) -> None:
    target = after_refund(current, 1000, refunded, cancels_order=True, shipped=shipped)
    assert target is expected
    assert cancellable(current, shipped=shipped) is (expected is Status.CANCELLED)
    # the cancellation of a sold order, and only that, puts its stock back
    assert returns_stock(current, target) is (expected is Status.CANCELLED)


def test_an_order_cancelled_before_it_was_sold_returns_no_stock() -> None:
    assert not returns_stock("created", Status.CANCELLED)
    assert returns_stock("confirmed", Status.CANCELLED)
    assert not returns_stock("confirmed", Status.REFUNDED)
    assert not cancellable("cancelled", shipped=False) and not cancellable(
        "refunded", shipped=False
    )


@pytest.mark.parametrize("current", ["created", "cancelled", "refunded"])
def test_a_refund_of_an_order_not_sold_is_refused(current: str) -> None:
    with pytest.raises(IllegalTransition):
        after_refund(current, 1000, 100)


lines = st.lists(st.tuples(st.integers(1, 1000), st.integers(0, 100_000)), min_size=1, max_size=10)


@given(lines, st.data())
def test_totals_that_add_up_are_accepted(items: list[tuple[int, int]], data: st.DataObject) -> None:
    subtotal = sum(q * p for q, p in items)
    discount = data.draw(st.integers(0, subtotal), label="discount")
    tax = data.draw(st.integers(0, 10**6), label="tax")
    shipping = data.draw(st.sampled_from([0, 599]), label="shipping")
    total = subtotal - discount + tax + shipping
    check = {"subtotal": subtotal, "discount": discount, "tax": tax, "shipping": shipping}
    assert totals_problem(items, **check, total=total) is None
    assert totals_problem(items, **check, total=total + 1) == (
        "The total does not equal subtotal - discount + tax + shipping."
    )
    off = {**check, "subtotal": subtotal + 1}
    assert totals_problem(items, **off, total=total + 1) == (
        f"The subtotal {subtotal + 1} does not match the lines ({subtotal})."
    )


def test_a_discount_over_the_subtotal_is_refused() -> None:
    problem = totals_problem([(1, 500)], subtotal=500, discount=501, tax=0, shipping=0, total=-1)
    assert problem == "The discount is larger than the subtotal."


def test_standard_shipping_counts_business_days_from_shipping_or_from_when_it_ships() -> None:
    friday = datetime(2026, 11, 27, 15, tzinfo=UTC)
    # placed on a Friday: ships Monday, arrives 3-5 business days after that
    assert delivery_estimate("confirmed", friday, None) == (date(2026, 12, 3), date(2026, 12, 7))
    assert delivery_estimate("created", friday, None) == (date(2026, 12, 3), date(2026, 12, 7))
    tuesday = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert delivery_estimate("shipped", friday, tuesday) == (date(2026, 12, 4), date(2026, 12, 8))
    for status in ("delivered", "cancelled", "refunded", "partially_refunded"):
        assert delivery_estimate(status, friday, tuesday) is None


@given(st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.integers(0, 60))
def test_business_days_never_land_on_a_weekend(day: date, count: int) -> None:
    moved = add_business_days(day, count)
    assert moved >= day and (count == 0 or moved.weekday() < 5)
    assert (moved - day).days <= count + 2 * (count // 5 + 1)
