"""Refund rules without I/O: what each line cost, how much a refund returns, settling once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.contracts.values import CheckoutLine, Totals
from commerce.refund.domain import (
    FAILED,
    SUCCEEDED,
    RefundableOrder,
    RefundRefused,
    amount_for_lines,
    amount_to_refund,
    paid_per_line,
    settle,
)

line_specs = st.dictionaries(
    st.sampled_from(["A", "B", "C", "D", "E"]),
    st.tuples(st.integers(1, 20), st.integers(0, 50_000)),
    min_size=1,
)


def _order(
    specs: dict[str, tuple[int, int]], discount_share: float, tax_bps: int
) -> tuple[list[CheckoutLine], Totals]:
    lines = [
        CheckoutLine(sku=sku, product_id=sku, name=sku, quantity=q, unit_price_cents=p)
        for sku, (q, p) in specs.items()
    ]
    subtotal = sum(q * p for q, p in specs.values())
    discount = int(subtotal * discount_share)
    tax = (subtotal - discount) * tax_bps // 10_000
    totals = Totals(
        subtotal_cents=subtotal, discount_cents=discount, tax_cents=tax,
        total_cents=subtotal - discount + tax,
    )  # fmt: skip
    return lines, totals


@given(line_specs, st.floats(0, 1), st.integers(0, 3000))
def test_what_the_lines_cost_adds_up_to_what_was_paid_for_them(
    specs: dict[str, tuple[int, int]], discount_share: float, tax_bps: int
) -> None:
    lines, totals = _order(specs, discount_share, tax_bps)
    paid = paid_per_line(lines, totals)
    assert sum(p["paid_cents"] for p in paid.values()) == (
        totals.subtotal_cents - totals.discount_cents + totals.tax_cents
    )
    assert all(p["paid_cents"] >= 0 for p in paid.values())
    assert {sku: p["quantity"] for sku, p in paid.items()} == {s: q for s, (q, _) in specs.items()}


@given(line_specs, st.floats(0, 1), st.integers(0, 3000), st.data())
def test_a_refund_of_lines_never_returns_more_than_they_cost(
    specs: dict[str, tuple[int, int]], discount_share: float, tax_bps: int, data: st.DataObject
) -> None:
    lines, totals = _order(specs, discount_share, tax_bps)
    paid = paid_per_line(lines, totals)
    wanted = {
        sku: data.draw(st.integers(1, line["quantity"]), label=sku)
        for sku, line in paid.items()
        if data.draw(st.booleans(), label=f"refund {sku}")
    }
    amount = amount_for_lines(paid, wanted)
    assert 0 <= amount <= sum(paid[sku]["paid_cents"] for sku in wanted)
    every_unit = {sku: line["quantity"] for sku, line in paid.items()}
    assert amount_for_lines(paid, every_unit) == sum(p["paid_cents"] for p in paid.values())


def test_a_line_not_in_the_order_or_too_many_units_is_refused() -> None:
    paid = {"A": {"quantity": 2, "paid_cents": 1001}}
    assert amount_for_lines(paid, {"A": 1}) == 500  # floor(1001 * 1 / 2)
    with pytest.raises(RefundRefused, match="not part of this order"):
        amount_for_lines(paid, {"B": 1})
    with pytest.raises(RefundRefused, match="only 2 of A"):
        amount_for_lines(paid, {"A": 3})


@given(
    st.integers(1, 10_000_000),
    st.data(),
    st.one_of(st.none(), st.integers(1, 20_000_000)),
)
def test_a_refund_never_takes_more_than_is_left(
    total: int, data: st.DataObject, amount: int | None
) -> None:
    refunded = data.draw(st.integers(0, total), label="refunded")
    pending = data.draw(st.integers(0, total - refunded), label="pending")
    order = RefundableOrder(total, refunded, pending, {})
    left = total - refunded - pending
    try:
        granted = amount_to_refund(order, lines=None, amount_cents=amount)
    except RefundRefused:
        assert left == 0 or (amount is not None and amount > left)
    else:
        assert 0 < granted <= left
        assert granted == (amount if amount is not None else left)


def test_refused_amounts_say_why() -> None:
    order = RefundableOrder(total_cents=5000, refunded_cents=3000, pending_cents=1000, lines={})
    with pytest.raises(RefundRefused, match=r"only 10\.00 can still be refunded"):
        amount_to_refund(order, lines=None, amount_cents=1001)
    spent = RefundableOrder(total_cents=5000, refunded_cents=5000, pending_cents=0, lines={})
    with pytest.raises(RefundRefused, match="nothing to refund"):
        amount_to_refund(spent, lines=None, amount_cents=None)


@pytest.mark.parametrize("stored", ["pending", "PENDING"])
def test_a_pending_refund_settles_as_refunded_or_released(stored: str) -> None:
    done = settle(stored, 700, True, None)
    assert done is not None
    assert (done.status, done.pending_delta_cents, done.refunded_delta_cents, done.template) == (
        SUCCEEDED, -700, 700, "refund_processed",
    )  # fmt: skip
    failed = settle(stored, 700, False, "card closed")
    assert failed is not None
    assert (failed.status, failed.failure_reason, failed.pending_delta_cents) == (
        FAILED, "card closed", -700,
    )  # fmt: skip
    assert (failed.refunded_delta_cents, failed.template) == (0, "refund_failed")


@pytest.mark.parametrize("stored", ["succeeded", "failed", "SUCCEEDED", "FAILED"])
def test_a_settled_refund_settles_no_second_time(stored: str) -> None:
    assert settle(stored, 700, True, None) is None
    assert settle(stored, 700, False, "late") is None
