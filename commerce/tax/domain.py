"""Tax arithmetic, free of I/O.

Rounding rule: tax is computed per line on the taxable amount after that line's
discount, as `taxable * rate_bps / 10000` rounded half up, in integer arithmetic; the
order's tax is the sum of its lines (plus shipping where shipping is taxable, at the
standard rate). No floats anywhere.
"""

from __future__ import annotations


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half up, for non-negative integers."""
    return (2 * numerator + denominator) // (2 * denominator)


def line_tax(
    quantity: int, unit_price_cents: int, discount_cents: int, rate_bps: int
) -> tuple[int, int]:
    """(taxable cents, tax cents) of one line."""
    taxable = max(quantity * unit_price_cents - discount_cents, 0)
    return taxable, round_half_up(taxable * rate_bps, 10_000)
