"""Reservation rules, free of I/O.

A reservation holds every line of a checkout or none. Its life:
held → committed (sold) | released (compensated) | expired (swept);
a compensation that arrives first leaves a `cancelled` tombstone so a late
reservation for that checkout never holds stock; a refusal is `failed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"


HOLDING = {Status.HELD}
FINAL = {Status.COMMITTED, Status.RELEASED, Status.EXPIRED, Status.CANCELLED, Status.FAILED}


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
