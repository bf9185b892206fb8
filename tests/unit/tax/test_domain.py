"""Tax rules without I/O: which rates apply where, per-line rounding, shipping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.tax.domain import Rate, TaxLine, Unsupported, assess, line_tax, round_half_up

RATES = [
    Rate("US", "CA", "standard", 725, False),
    Rate("US", "NY", "standard", 400, True),
    Rate("US", "NY", "reduced", 0, True),
    Rate("GB", "*", "standard", 2000, True),
    Rate("GB", "*", "reduced", 500, True),
]


def _line(tax_class: str = "standard", price: int = 1000) -> TaxLine:
    return TaxLine("SKU", 1, price, 0, tax_class)


def test_the_region_is_the_jurisdiction_where_it_has_rates() -> None:
    assessed = assess("US", "ca", RATES, [_line()], 599)
    assert (assessed.jurisdiction, assessed.tax_cents, assessed.shipping_tax_cents) == (
        "US-CA",
        73,
        0,
    )


def test_a_country_without_regional_rates_taxes_at_its_own() -> None:
    assessed = assess("GB", "Kent", RATES, [_line("reduced")], 599)
    assert assessed.jurisdiction == "GB"
    assert [t.rate_bps for t in assessed.lines] == [500]
    assert assessed.shipping_tax_cents == 120  # shipping taxable at the standard 20%


def test_a_class_without_a_rate_falls_back_to_the_standard_rate() -> None:
    (line,) = assess("US", "CA", RATES, [_line("zero")], 0).lines
    assert line.rate_bps == 725


@pytest.mark.parametrize(
    ("country", "region", "message"),
    [("US", "TX", "for US-TX yet"), ("FR", None, "for FR yet"), ("FR", "", "for FR yet")],
)
def test_addresses_without_rates_are_unsupported(
    country: str, region: str | None, message: str
) -> None:
    with pytest.raises(Unsupported, match=message):
        assess(country, region, RATES, [_line()], 0)


def test_no_standard_rate_for_an_unrated_class_is_unsupported() -> None:
    only_reduced = [Rate("DE", "*", "reduced", 700, True)]
    with pytest.raises(Unsupported, match="No zero tax rate is configured for DE"):
        assess("DE", None, only_reduced, [_line("zero")], 0)
    assert assess("DE", None, only_reduced, [_line("reduced")], 599).shipping_tax_cents == 0


@given(st.integers(0, 10**12), st.integers(1, 10**6))
def test_rounding_half_up_is_the_nearest_integer_with_halves_up(num: int, den: int) -> None:
    rounded = round_half_up(num, den)
    assert abs(2 * (num - rounded * den)) <= den  # within half of the exact quotient
    assert 2 * (num - rounded * den) != den  # an exact half goes up, never down


@given(st.integers(1, 1000), st.integers(0, 100_000), st.integers(0, 10**8), st.integers(0, 10_000))
def test_line_tax_is_never_negative_nor_more_than_the_rate_allows(
    quantity: int, price: int, discount: int, rate_bps: int
) -> None:
    taxable, tax = line_tax(quantity, price, discount, rate_bps)
    assert taxable == max(quantity * price - discount, 0)
    assert 0 <= tax <= taxable * rate_bps // 10_000 + 1
