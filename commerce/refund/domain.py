"""How much a refund returns, free of I/O.

What each line cost the customer: its amount, less its share of the discount, plus its
share of the tax — shares split in proportion to line amounts by the largest-remainder
method, so the lines add up exactly to subtotal - discount + tax. Refunding k of n units
of a line returns floor(paid * k / n). Shipping is returned only by a full refund.
"""

from __future__ import annotations

from commerce.contracts.refunds import RefundRefused, amount_for_lines, paid_per_line

__all__ = ["RefundRefused", "amount_for_lines", "check_amount", "paid_per_line"]


def check_amount(amount: int, *, total: int, refunded: int, pending: int) -> None:
    left = total - refunded - pending
    if amount <= 0:
        raise RefundRefused("there is nothing to refund")
    if amount > left:
        raise RefundRefused(f"only {left / 100:.2f} can still be refunded on this order")
