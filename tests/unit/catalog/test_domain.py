"""What a product's stock says to a shopper, without I/O."""

from __future__ import annotations

from commerce.catalog.domain import with_stock

VARIANTS = ({"sku": "A", "name": "red"}, {"sku": "B", "name": "blue"})


def test_a_product_is_in_stock_when_any_variant_has_a_unit() -> None:
    availability, items = with_stock(VARIANTS, {"A": 0, "B": 3})
    assert availability == "in_stock"
    assert items == [
        {"sku": "A", "name": "red", "available": 0},
        {"sku": "B", "name": "blue", "available": 3},
    ]


def test_a_sku_inventory_does_not_know_has_no_units() -> None:
    availability, items = with_stock(VARIANTS, {"A": 0})
    assert availability == "out_of_stock"
    assert [v["available"] for v in items] == [0, 0]


def test_without_inventory_the_stock_is_unknown_not_zero() -> None:
    availability, items = with_stock(VARIANTS, None)
    assert availability == "unknown"
    assert [v["available"] for v in items] == [None, None]
    assert VARIANTS[0] == {"sku": "A", "name": "red"}  # the documents are not changed
