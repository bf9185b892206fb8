"""Cart rules without I/O: versions, a full cart, units per line."""

from __future__ import annotations

import pytest

from commerce.cart.domain import MAX_UNITS_PER_LINE, TOO_MANY_UNITS, cart_full, version_conflict
from commerce.contracts.values import MAX_CHECKOUT_LINES


@pytest.mark.parametrize(
    ("if_match", "conflict"),
    [(None, False), ("3", False), ('"3"', False), ("2", True), ('"4"', True)],
)
def test_a_change_applies_only_to_the_version_it_was_made_against(
    if_match: str | None, conflict: bool
) -> None:
    found = version_conflict(3, if_match)
    assert (found == "the cart changed (version 3); reload it") if conflict else found is None


def test_a_full_cart_takes_more_of_an_item_it_holds_but_no_new_item() -> None:
    assert cart_full(MAX_CHECKOUT_LINES - 1, has_sku=False) is None
    assert cart_full(MAX_CHECKOUT_LINES, has_sku=True) is None
    refusal = cart_full(MAX_CHECKOUT_LINES, has_sku=False)
    assert refusal == (
        f"A cart holds at most {MAX_CHECKOUT_LINES} different items; check out or remove some first."
    )


def test_the_unit_limit_is_stated_once() -> None:
    assert (
        TOO_MANY_UNITS
        == f"quantity: at most {MAX_UNITS_PER_LINE} of one item"
        == ("quantity: at most 1000 of one item")
    )
