"""Tax arithmetic, free of I/O.

Rounding rule: tax is computed per line on the taxable amount after that line's
discount, as `taxable * rate_bps / 10000` rounded half up, in integer arithmetic; the
order's tax is the sum of its lines (plus shipping where shipping is taxable, at the
standard rate). No floats anywhere.

Jurisdiction: the rates of the address's region when it has any, otherwise the
country's (region `*`); none → the address is unsupported. A line whose tax class has
no rate there is taxed at the standard rate; shipping is taxed at the standard rate
where that rate says shipping is taxable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def line_tax(
    quantity: int, unit_price_cents: int, discount_cents: int, rate_bps: int
) -> tuple[int, int]:
    """(taxable cents, tax cents) of one line."""
    taxable = max(quantity * unit_price_cents - discount_cents, 0)
    return taxable, round_half_up(taxable * rate_bps, 10_000)


class Unsupported(ValueError):
    """No rate for this address (or for a line's class and the standard one)."""


@dataclass(frozen=True)
class Rate:
    country: str
    region: str  # "*" for the whole country
    tax_class: str
    rate_bps: int
    shipping_taxable: bool


@dataclass(frozen=True)
class TaxLine:
    sku: str
    quantity: int
    unit_price_cents: int
    discount_cents: int
    tax_class: str


@dataclass(frozen=True)
class LineTax:
    sku: str
    taxable_cents: int
    rate_bps: int
    tax_cents: int


@dataclass(frozen=True)
class Assessment:
    jurisdiction: str
    lines: list[LineTax]
    shipping_tax_cents: int

    @property
    def tax_cents(self) -> int:
        return sum(line.tax_cents for line in self.lines) + self.shipping_tax_cents


def jurisdiction_rates(
    country: str, region: str | None, rates: Sequence[Rate]
) -> tuple[str, Mapping[str, Rate]]:
    """(jurisdiction, rate by tax class) of an address; `Unsupported` when none applies."""
    region = (region or "").upper()
    specific = {
        r.tax_class: r for r in rates if r.country == country and r.region == region and region
    }
    general = {r.tax_class: r for r in rates if r.country == country and r.region == "*"}
    chosen = specific or general
    if not chosen:
        where = f"{country}-{region}" if region else country
        raise Unsupported(f"We cannot ship to or calculate tax for {where} yet.")
    return (f"{country}-{region}" if specific else country), chosen


def assess(
    country: str,
    region: str | None,
    rates: Sequence[Rate],
    lines: Sequence[TaxLine],
    shipping_cents: int,
) -> Assessment:
    """The tax of every line, and of shipping, for an address."""
    jurisdiction, by_class = jurisdiction_rates(country, region, rates)
    taxed = []
    for line in lines:
        rate = by_class.get(line.tax_class) or by_class.get("standard")
        if rate is None:
            raise Unsupported(f"No {line.tax_class} tax rate is configured for {jurisdiction}.")
        taxable, tax = line_tax(
            line.quantity, line.unit_price_cents, line.discount_cents, rate.rate_bps
        )
        taxed.append(LineTax(line.sku, taxable, rate.rate_bps, tax))
    standard = by_class.get("standard")
    shipping_tax = 0
    if standard is not None and standard.shipping_taxable:
        shipping_tax = line_tax(1, shipping_cents, 0, standard.rate_bps)[1]
    return Assessment(jurisdiction, taxed, shipping_tax)
