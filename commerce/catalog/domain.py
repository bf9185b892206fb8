"""Catalog rules, free of I/O: what a product's stock says to a shopper.

A variant shows the units inventory says are available (a SKU inventory does not know
has none); a product is `in_stock` when any variant has a unit, `out_of_stock` when none
has, and `unknown` when inventory could not be asked (the variants then show no number).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Availability = Literal["in_stock", "out_of_stock", "unknown"]


def with_stock(
    variants: Sequence[Mapping[str, Any]], levels: Mapping[str, int] | None
) -> tuple[Availability, list[dict[str, Any]]]:
    """The product's availability and its variants with `available` laid over."""
    if levels is None:
        return "unknown", [{**v, "available": None} for v in variants]
    items = [{**v, "available": levels.get(v["sku"], 0)} for v in variants]
    return ("in_stock" if any(v["available"] > 0 for v in items) else "out_of_stock"), items
