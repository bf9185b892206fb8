"""How much a refund returns, free of I/O.

What each line cost the customer: its amount, less its share of the discount, plus its
share of the tax — shares split in proportion to line amounts by the largest-remainder
method, so the lines add up exactly to subtotal - discount + tax. Refunding k of n units
of a line returns floor(paid * k / n). Shipping is returned only by a full refund.
"""

from __future__ import annotations

from commerce.contracts.values import CheckoutLine, Totals
from commerce.platform.money import allocate


class RefundRefused(ValueError):
    pass


def paid_per_line(lines: list[CheckoutLine], totals: Totals) -> dict[str, dict[str, int]]:
    amounts = {line.sku: line.quantity * line.unit_price_cents for line in lines}
    discounts = allocate(totals.discount_cents, amounts)
    taxes = allocate(
        totals.tax_cents,
        {sku: amount - discounts[sku] for sku, amount in amounts.items()} or amounts,
    )
    quantities = {line.sku: line.quantity for line in lines}
    return {
        sku: {"quantity": quantities[sku], "paid_cents": amounts[sku] - discounts[sku] + taxes[sku]}
        for sku in amounts
    }


def amount_for_lines(paid: dict[str, dict[str, int]], wanted: dict[str, int]) -> int:
    total = 0
    for sku, quantity in wanted.items():
        line = paid.get(sku)
        if line is None:
            raise RefundRefused(f"{sku} is not part of this order")
        if quantity > line["quantity"]:
            raise RefundRefused(f"the order has only {line['quantity']} of {sku}")
        total += line["paid_cents"] * quantity // line["quantity"]
    return total


def check_amount(amount: int, *, total: int, refunded: int, pending: int) -> None:
    left = total - refunded - pending
    if amount <= 0:
        raise RefundRefused("there is nothing to refund")
    if amount > left:
        raise RefundRefused(f"only {left / 100:.2f} can still be refunded on this order")
