"""The demo catalog is large, varied, stable, and has what the assistant's examples ask for."""

from __future__ import annotations

from collections import Counter

from commerce.catalog.data import CATEGORIES, catalog_products, catalog_skus


def test_size_variety_and_unique_ids() -> None:
    products = catalog_products()
    skus = catalog_skus()
    assert len(products) >= 500
    assert len({p.product_id for p in products}) == len(products)
    assert len({s.sku for s in skus}) == len(skus)
    per_category = Counter(p.category for p in products)
    assert set(per_category) == set(CATEGORIES) and min(per_category.values()) >= 20
    assert all(v.price_cents > 0 for p in products for v in p.variants)
    assert {p.tax_class for p in products} == {"standard", "reduced"}


def test_the_same_catalog_every_time() -> None:
    first = [(s.sku, s.price_cents, s.initial_stock) for s in catalog_skus()]
    catalog_products.cache_clear()
    assert [(s.sku, s.price_cents, s.initial_stock) for s in catalog_skus()] == first
    # pinned: a change to the generator changes these, and must be deliberate
    assert first[:2] == [("BAT-AA-4", 499, 400), ("BAT-AA-8", 939, 400)]


def test_staples_exist() -> None:
    names = {s.name for s in catalog_skus()}
    assert "AA Alkaline Batteries, 8-pack" in names
    assert "USB-C Cable, 2m, black" in names
    assert any("Headphones" in n for n in names)
    assert any("Notebook" in n for n in names) and any("Coffee" in n for n in names)
