"""Cart rules, free of I/O.

A cart is bought whole, so it holds no more different items than one checkout may carry
(`MAX_CHECKOUT_LINES`), and at most `MAX_UNITS_PER_LINE` of one item. A change names the
version it was made against (`If-Match`); a cart changed since is not changed again.
"""

from __future__ import annotations

from commerce.contracts.values import MAX_CHECKOUT_LINES

MAX_UNITS_PER_LINE = 1000
# an addition that would take a line over MAX_UNITS_PER_LINE (checked where it is stored,
# in the same statement as the addition, so two additions cannot both pass)
TOO_MANY_UNITS = f"quantity: at most {MAX_UNITS_PER_LINE} of one item"


def version_conflict(version: int, if_match: str | None) -> str | None:
    """Why a change made against `if_match` cannot apply to the cart at `version`."""
    if if_match is not None and if_match.strip('"') != str(version):
        return f"the cart changed (version {version}); reload it"
    return None


def cart_full(lines: int, has_sku: bool) -> str | None:
    """Why one more line cannot be added to a cart of `lines` lines (None: it can; adding
    to a line already there adds no line)."""
    if not has_sku and lines >= MAX_CHECKOUT_LINES:
        return (
            f"A cart holds at most {MAX_CHECKOUT_LINES} different items; "
            "check out or remove some first."
        )
    return None
