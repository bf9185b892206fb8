"""Reservation rules, free of I/O.

A reservation holds every line of a checkout or none. Its life:
held → committed (sold) | released (compensated) | expired (swept);
a compensation that arrives first leaves a `cancelled` tombstone so a late
reservation for that checkout never holds stock; a refusal is `failed`. The order of a
sold checkout that is cancelled makes it `returned` (committed, held or expired →
returned, once): its units are back on the shelf, and a late commit takes nothing.

Each command is decided here from the reservation as stored (and the stock free where
it matters) into an `Outcome`: what to record, how stock moves, what to publish. The
handlers load, decide, apply and publish.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from commerce.contracts.base import Message
from commerce.contracts.checkout import (
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
)
from commerce.contracts.values import StockShortage


class Status(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"
    RETURNED = "returned"


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int


def merge_lines(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Quantities per SKU, duplicates summed, in sorted SKU order (the lock order)."""
    merged: dict[str, int] = {}
    for sku, quantity in lines:
        merged[sku] = merged.get(sku, 0) + quantity
    return dict(sorted(merged.items()))


def shortages(requested: Mapping[str, int], available: Mapping[str, int]) -> list[Shortage]:
    """What cannot be held; unknown SKUs count as zero available."""
    return [
        Shortage(sku, quantity, max(available.get(sku, 0), 0))
        for sku, quantity in requested.items()
        if available.get(sku, 0) < quantity
    ]


def shortage_reason(found: list[Shortage], names: Mapping[str, str] | None = None) -> str:
    """A sentence a person can read, naming each item that is short."""
    names = names or {}
    parts = []
    for s in found:
        label = names.get(s.sku, s.sku)
        if s.available == 0:
            parts.append(f"{label} is out of stock")
        else:
            parts.append(f"only {s.available} left of {label} (you asked for {s.requested})")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


def stock_count_refusal(sku: str, on_hand: int, *, reserved: int) -> str | None:
    """Why a stock count cannot set `on_hand`: never below what is reserved."""
    if on_hand < reserved:
        return f"{reserved} units of {sku} are reserved; on_hand cannot go below that"
    return None


@dataclass(frozen=True)
class Reservation:
    """A reservation as stored, with its lines (SKU -> units held)."""

    checkout_id: uuid.UUID
    status: str
    reason: str | None = None
    expires_at: datetime | None = None
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def units(self) -> int:
        return sum(self.lines.values())


@dataclass(frozen=True)
class StockMove:
    """A change of one SKU's stock: units on hand and units reserved (deltas)."""

    sku: str
    on_hand: int = 0
    reserved: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one command does: the reservation to record (`new`: inserted; otherwise its
    status, and its reason when given, are updated), stock moves, messages, a log line."""

    reservation: Reservation | None = None
    new: bool = False
    stock: Sequence[StockMove] = ()
    publish: Sequence[Message] = ()
    log: tuple[str, str] | None = None  # (level, event)


def answer_again(existing: Reservation) -> Outcome:
    """A re-sent ReserveInventory: answer as before, hold nothing new."""
    checkout_id = existing.checkout_id
    if existing.status in (Status.HELD, Status.COMMITTED):
        if existing.expires_at is None:
            raise ValueError(f"reservation {checkout_id} is {existing.status} without an expiry")
        return Outcome(
            publish=[InventoryReserved(checkout_id=checkout_id, expires_at=existing.expires_at)]
        )
    reasons: dict[str, str] = {
        Status.CANCELLED: "The checkout was cancelled before stock was reserved.",
        Status.RELEASED: "The reservation was already released.",
        Status.EXPIRED: "The reservation expired.",
        Status.RETURNED: "The order was cancelled and its stock returned.",
    }
    reason = reasons.get(existing.status, existing.reason or "Stock could not be reserved.")
    return Outcome(publish=[InventoryReservationFailed(checkout_id=checkout_id, reason=reason)])


def reserve(
    checkout_id: uuid.UUID,
    wanted: Mapping[str, int],
    available: Mapping[str, int],
    *,
    now: datetime,
    hold: timedelta,
) -> Outcome:
    """Hold every line or none: the last unit goes to exactly one of the concurrent
    reservations (`available` is read under the stock rows' locks)."""
    short = shortages(wanted, available)
    if short:
        reason = shortage_reason(short)
        return Outcome(
            reservation=Reservation(checkout_id, Status.FAILED, reason=reason),
            new=True,
            publish=[
                InventoryReservationFailed(
                    checkout_id=checkout_id,
                    reason=reason,
                    shortages=[
                        StockShortage(sku=s.sku, requested=s.requested, available=s.available)
                        for s in short
                    ],
                )
            ],
        )
    expires_at = now + hold
    return Outcome(
        reservation=Reservation(checkout_id, Status.HELD, expires_at=expires_at, lines=wanted),
        new=True,
        stock=[StockMove(sku, reserved=quantity) for sku, quantity in wanted.items()],
        publish=[InventoryReserved(checkout_id=checkout_id, expires_at=expires_at)],
    )


def _give_back(existing: Reservation) -> list[StockMove]:
    return [StockMove(sku, reserved=-quantity) for sku, quantity in existing.lines.items()]


def compensate(existing: Reservation | None, checkout_id: uuid.UUID, reason: str) -> Outcome:
    """Release a hold. A compensation that overtook its reservation leaves a tombstone so
    a late ReserveInventory for this checkout holds nothing."""
    if existing is None:
        return Outcome(
            reservation=Reservation(checkout_id, Status.CANCELLED, reason=reason),
            new=True,
            publish=[InventoryReleased(checkout_id=checkout_id, released_units=0)],
        )
    if existing.status == Status.HELD:
        return Outcome(
            reservation=Reservation(checkout_id, Status.RELEASED, reason=reason),
            stock=_give_back(existing),
            publish=[InventoryReleased(checkout_id=checkout_id, released_units=existing.units)],
        )
    released = InventoryReleased(checkout_id=checkout_id, released_units=0)
    if existing.status == Status.COMMITTED:
        return Outcome(publish=[released], log=("warning", "inventory.compensate_after_commit"))
    return Outcome(publish=[released])


def stock_to_check(existing: Reservation | None) -> list[str]:
    """The SKUs whose free stock `commit` needs: a hold that expired is re-taken only if
    its stock is still there."""
    if existing is not None and existing.status == Status.EXPIRED:
        return list(existing.lines)
    return []


def commit(
    existing: Reservation | None, checkout_id: uuid.UUID, available: Mapping[str, int]
) -> Outcome:
    """Turn the hold into a sale. A hold that expired is re-taken if the stock is still
    there; never sell what is not there (the invariant checker reports the order)."""
    if existing is None:
        return Outcome(log=("error", "inventory.commit_without_reservation"))
    committed = [InventoryCommitted(checkout_id=checkout_id)]
    if existing.status in (Status.COMMITTED, Status.RETURNED):
        return Outcome(publish=committed)  # sold before (a returned order took nothing again)
    if existing.status == Status.HELD:
        moves = [StockMove(sku, on_hand=-q, reserved=-q) for sku, q in existing.lines.items()]
    elif existing.status == Status.EXPIRED:
        if shortages(existing.lines, available):
            return Outcome(log=("error", "inventory.commit_after_expiry_short"))
        moves = [StockMove(sku, on_hand=-q) for sku, q in existing.lines.items()]
    else:
        return Outcome(log=("error", "inventory.commit_refused"))
    return Outcome(
        reservation=Reservation(checkout_id, Status.COMMITTED),
        stock=moves,
        publish=committed,
    )


def restock(existing: Reservation | None) -> Outcome:
    """A sold order was cancelled: put its units back, once. Committed units return to on
    hand; a hold not committed yet is released, and an expired one already gave its units
    back; each becomes `returned`, so a redelivery or a late commit changes nothing. A
    checkout that never took stock (released, cancelled, failed) is left as it is."""
    if existing is None:
        return Outcome(log=("warning", "inventory.restock_without_reservation"))
    moves: list[StockMove]
    if existing.status == Status.COMMITTED:
        moves = [StockMove(sku, on_hand=q) for sku, q in existing.lines.items()]
    elif existing.status == Status.HELD:
        moves = _give_back(existing)
    elif existing.status == Status.EXPIRED:
        moves = []
    elif existing.status == Status.RETURNED:
        return Outcome()  # returned already
    else:
        return Outcome(log=("info", "inventory.restock_nothing_taken"))
    return Outcome(
        reservation=Reservation(existing.checkout_id, Status.RETURNED, reason="order cancelled"),
        stock=moves,
        log=("info", "inventory.restocked"),
    )


def expire(existing: Reservation) -> Outcome:
    """A hold past its expiry (found by the sweeper) gives its stock back."""
    if existing.status != Status.HELD:
        return Outcome()
    return Outcome(
        reservation=Reservation(existing.checkout_id, Status.EXPIRED, reason="hold expired"),
        stock=_give_back(existing),
        log=("info", "inventory.hold_expired"),
    )
