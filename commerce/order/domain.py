"""Order rules, free of I/O: the status machine and the totals check."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    CREATED = "created"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


class IllegalTransition(ValueError):
    pass


TRANSITIONS: dict[Status, set[Status]] = {
    Status.CREATED: {Status.CONFIRMED, Status.CANCELLED},
    Status.CONFIRMED: {
        Status.SHIPPED,
        Status.CANCELLED,
        Status.PARTIALLY_REFUNDED,
        Status.REFUNDED,
    },
    Status.SHIPPED: {Status.DELIVERED, Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    Status.DELIVERED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    # cancelled only if it never shipped: see `cancellable`
    Status.PARTIALLY_REFUNDED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.CANCELLED},
    Status.REFUNDED: set(),
    Status.CANCELLED: set(),
}

# Orders that count as sold (money kept, unless refunded): used by the invariant checker.
SOLD = {
    Status.CONFIRMED,
    Status.SHIPPED,
    Status.DELIVERED,
    Status.PARTIALLY_REFUNDED,
    Status.REFUNDED,
}


# Standard shipping, as the shop promises it: an order ships within this many business
# days of being placed, and arrives within this range of business days after it shipped.
SHIPS_WITHIN_BUSINESS_DAYS = 1
IN_TRANSIT_BUSINESS_DAYS = (3, 5)


def add_business_days(day: date, count: int) -> date:
    """`day` moved forward by `count` business days (Monday to Friday)."""
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def delivery_estimate(
    status: str, placed_at: datetime, shipped_at: datetime | None
) -> tuple[date, date] | None:
    """The days between which standard shipping brings an order on its way (from when it
    shipped, or from when it will ship); None for one that is not on its way (delivered,
    cancelled, refunded)."""
    if status in (Status.CREATED, Status.CONFIRMED):
        start = add_business_days(placed_at.date(), SHIPS_WITHIN_BUSINESS_DAYS)
    elif status == Status.SHIPPED and shipped_at is not None:
        start = shipped_at.date()
    else:
        return None
    soonest, latest = IN_TRANSIT_BUSINESS_DAYS
    return add_business_days(start, soonest), add_business_days(start, latest)


def transition(current: str, target: Status) -> Status:
    status = Status(current)
    if target not in TRANSITIONS[status]:
        raise IllegalTransition(f"an order that is {status.value} cannot become {target.value}")
    return target


def cancellable(current: str, *, shipped: bool) -> bool:
    """Whether an order can still be cancelled: placed, or sold and not shipped (a partial
    refund before does not stop it; a shipped order is refunded, not cancelled)."""
    status = Status(current)
    if status == Status.PARTIALLY_REFUNDED:
        return not shipped
    return status in (Status.CREATED, Status.CONFIRMED)


def returns_stock(current: str, target: Status) -> bool:
    """A move that cancels a sold order: its stock goes back to inventory (an order
    cancelled before it was sold never took any; the saga released its hold)."""
    return target == Status.CANCELLED and Status(current) != Status.CREATED


def after_refund(
    current: str,
    total_cents: int,
    refunded_cents: int,
    *,
    cancels_order: bool = False,
    shipped: bool = False,
) -> Status:
    """The status after a refund: cancelled when the refund cancels an order that can
    still be cancelled; otherwise refunded in full or in part."""
    if cancels_order and cancellable(current, shipped=shipped):
        return transition(current, Status.CANCELLED)
    return transition(
        current, Status.REFUNDED if refunded_cents >= total_cents else Status.PARTIALLY_REFUNDED
    )


def totals_problem(
    lines: Iterable[tuple[int, int]],
    *,
    subtotal: int,
    discount: int,
    tax: int,
    shipping: int,
    total: int,
) -> str | None:
    """None when the totals add up; otherwise what is wrong, in words."""
    computed = sum(quantity * unit for quantity, unit in lines)
    if computed != subtotal:
        return f"The subtotal {subtotal} does not match the lines ({computed})."
    if discount > subtotal:
        return "The discount is larger than the subtotal."
    if subtotal - discount + tax + shipping != total:
        return "The total does not equal subtotal - discount + tax + shipping."
    return None
