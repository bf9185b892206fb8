"""catalog search and detail against the real database, with stock from inventory."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, insert, text

from commerce.catalog.documents import Catalog
from commerce.catalog.kinds import DEPARTMENTS
from commerce.catalog.search import Query
from commerce.catalog.tables import products, variants
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration


async def search(stack: ServiceStack, **params: Any) -> Any:
    await stack.ensure("inventory", "catalog")
    async with stack.client("catalog") as http:
        response = await http.get("/products", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_search_finds_despite_punctuation_plurals_and_typos(stack: ServiceStack) -> None:
    cables = await search(stack, q="usb c cable")
    assert cables["items"][0]["product_type"] == "usb-c cable"
    assert "p-cable-usbc" in {p["product_id"] for p in cables["items"]}
    typo = await search(stack, q="headphnoes")
    assert typo["items"] and all("Headphones" in p["name"] for p in typo["items"][:2])
    # Over a hundred batteries: the demo packs are among them, singular or plural.
    singular = await search(stack, q="battery", limit=100)
    plural = await search(stack, q="batteries", limit=100)
    assert {p["product_id"] for p in singular["items"]} >= {"p-battery-aa", "p-battery-aaa"}
    assert {p["product_id"] for p in plural["items"]} >= {"p-battery-aa", "p-battery-aaa"}
    assert all("batter" in p["product_type"] for p in singular["items"][:20])


async def test_filters_sorting_and_stable_pages(stack: ServiceStack) -> None:
    cheap = await search(stack, category="office", max_price_cents=500, sort="price_asc", limit=100)
    assert cheap["items"] and all(
        p["category"] == "office" and p["min_price_cents"] <= 500 for p in cheap["items"]
    )
    prices = [p["min_price_cents"] for p in cheap["items"]]
    assert prices == sorted(prices)
    first, second = (
        await search(stack, category="kitchen", sort="name", limit=5),
        await search(stack, category="kitchen", sort="name", limit=5, offset=5),
    )
    assert first["total"] == second["total"] >= 10
    assert not {p["product_id"] for p in first["items"]} & {
        p["product_id"] for p in second["items"]
    }
    black = await search(stack, q="usb c cable", **{"attr.color": "black"})
    assert black["items"][0]["product_type"] == "usb-c cable"
    assert any(v["attributes"].get("color") == "black" for v in black["items"][0]["variants"])
    assert "p-cable-usbc" in {p["product_id"] for p in black["items"]}


async def test_stock_comes_from_inventory(stack: ServiceStack) -> None:
    body = await search(stack, q="AA batteries")
    battery = next(p for p in body["items"] if p["product_id"] == "p-battery-aa")
    assert battery["availability"] == "in_stock"
    assert all(v["available"] is not None for v in battery["variants"])
    async with stack.client("catalog") as http:
        sku = (await http.get("/skus/BAT-AA-8")).json()
        assert (
            sku["price_cents"] == 939
            and sku["product_id"] == "p-battery-aa"
            and sku["available"] > 0
        )
        detail = (await http.get("/products/p-cable-usbc")).json()
        assert len(detail["variants"]) == 6
        departments = (await http.get("/categories")).json()
        assert len(departments) == len(DEPARTMENTS) >= 20
        assert all(d["icon"] and d["product_count"] >= 100 for d in departments)


async def test_bad_input_gets_a_clear_4xx(stack: ServiceStack) -> None:
    await stack.ensure("inventory", "catalog")
    async with stack.client("catalog") as http:
        inverted = await http.get(
            "/products", params={"min_price_cents": 500, "max_price_cents": 100}
        )
        assert inverted.status_code == 422 and "min_price_cents" in inverted.json()["detail"]
        assert (await http.get("/products", params={"sort": "random"})).status_code == 422
        assert (await http.get("/products", params={"limit": 0})).status_code == 422
        assert (await http.get("/products/nope")).status_code == 404
        assert (await http.get("/skus/NOPE")).status_code == 404


async def test_availability_is_unknown_while_inventory_is_down(stack: ServiceStack) -> None:
    await stack.ensure("inventory", "catalog")
    await stack.stop("inventory")
    try:
        async with stack.client("catalog") as http:
            # levels read in the last second may still be shown (CATALOG_STOCK_CACHE_SECONDS)
            body = await eventually(
                lambda: _json(http.get("/products", params={"q": "usb c cable"})),
                lambda b: b["items"][0]["availability"] == "unknown",
                within=10,
            )
    finally:
        await stack.ensure("inventory")
    assert body["items"][0]["variants"][0]["available"] is None


async def _json(response: Any) -> Any:
    return (await response).json()


async def test_products_are_read_again_once_old(stack: ServiceStack) -> None:
    """A product seeded into a running catalog shows once its documents are read again."""
    await stack.ensure("inventory", "catalog")
    db = stack.runtime("catalog").db
    catalog = Catalog(db, seconds=0.05)
    product_id = f"p-late-{uuid.uuid4().hex[:8]}"
    assert await catalog.product("p-cable-usbc") is not None
    late = {
        "product_id": product_id, "name": "Late Stapler", "brand": "Deskmate", "category": "office",
        "description": "Seeded after the catalog started.", "tax_class": "standard",
        "attributes": {}, "min_price_cents": 500, "max_price_cents": 500, "currency": "USD",
        "search": text("''::tsvector"),
    }  # fmt: skip
    sku = {"sku": f"SKU-{product_id}", "product_id": product_id, "name": "Late Stapler",
           "price_cents": 500, "attributes": {}}  # fmt: skip
    async with db.transaction() as session:
        await session.execute(insert(products).values(late))
        await session.execute(insert(variants).values(sku))
    try:
        assert await catalog.product(product_id) is None  # documents read before it came
        assert catalog.readings == 1
        found = await eventually(
            lambda: catalog.product(product_id), lambda p: p is not None, within=10
        )
        assert found is not None and found.fields["name"] == "Late Stapler"
        assert (await catalog.sku(f"SKU-{product_id}") or {}).get("price_cents") == 500
    finally:
        async with db.transaction() as session:
            await session.execute(delete(variants).where(variants.c.product_id == product_id))
            await session.execute(delete(products).where(products.c.product_id == product_id))


async def test_an_unchanged_catalog_keeps_its_documents_and_searches(stack: ServiceStack) -> None:
    """Once old, the documents are checked against the database, not read again, while
    nothing changed: the searches answered from them are kept too."""
    await stack.ensure("inventory", "catalog")
    catalog = Catalog(stack.runtime("catalog").db, seconds=0.05)
    await catalog.warm_up()
    first = await catalog.documents()
    read_at = first.read_at
    await catalog.search(Query(q="usb c cable"))
    checked = await eventually(
        catalog.documents, lambda d: d.read_at > read_at and catalog.readings == 1, within=10
    )
    assert checked is first and catalog.readings == 1
    assert Query(q="usb c cable").key() in checked.searches


async def test_an_exact_sku_or_product_id_finds_that_product_first(stack: ServiceStack) -> None:
    await stack.ensure("inventory", "catalog")
    async with stack.client("catalog") as http:
        # the staples and a spread of the store's SKUs, as typed and in other cases
        sample = (await http.get("/products", params={"limit": 100})).json()["items"]
    skus = ["BAT-AA-8", "CBL-USBC-2M-BLA", "HP-ANC-BLA", "NB-A5-BLA", "COF-HOUSE-340"]
    skus += [p["variants"][-1]["sku"] for p in sample[::7]]
    for sku in skus:
        for asked in (sku, sku.lower(), f" {sku} "):
            found = await search(stack, q=asked, limit=5)
            assert found["match"] == "matched", (asked, found["match"])
            first = found["items"][0]
            assert sku in {v["sku"] for v in first["variants"]}, (asked, first["product_id"])
    for product in sample[::9]:
        found = await search(stack, q=product["product_id"], limit=5)
        assert found["items"][0]["product_id"] == product["product_id"]
    # filters still apply: the SKU's product is not shown outside its department
    other = await search(stack, q="BAT-AA-8", category="kitchen", limit=5)
    assert all(p["category"] == "kitchen" for p in other["items"])
