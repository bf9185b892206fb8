"""catalog's HTTP API: search, product detail, SKU lookup, categories."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import httpx
import structlog
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select, text

from commerce.catalog import search as product_search
from commerce.catalog.tables import categories, products, variants
from commerce.platform.service import RuntimeDep, ServiceRuntime

router = APIRouter(tags=["products"])
log = structlog.get_logger(__name__)
Availability = Literal["in_stock", "out_of_stock", "unknown"]


class VariantPublic(BaseModel):
    sku: str
    name: str
    price_cents: int
    attributes: dict[str, str]
    available: int | None = None


class ProductPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "product_id": "p-cable-usbc", "name": "USB-C Cable", "brand": "Northwire", "category": "electronics",
                "description": "Braided USB-C to USB-C charging and data cable, 60 W.", "tax_class": "standard",
                "attributes": {"connector": "USB-C"}, "min_price_cents": 799, "max_price_cents": 1299,
                "currency": "USD", "availability": "in_stock",
                "variants": [{"sku": "CBL-USBC-2M-BLA", "name": "USB-C Cable, 2m, black", "price_cents": 999,
                              "attributes": {"length": "2m", "color": "black"}, "available": 300}],
            }]
        }
    )  # fmt: skip
    product_id: str
    name: str
    brand: str
    category: str
    description: str
    tax_class: str
    attributes: dict[str, str]
    min_price_cents: int
    max_price_cents: int
    currency: str
    availability: Availability = "unknown"
    variants: list[VariantPublic]


class ProductsPublic(BaseModel):
    items: list[ProductPublic]
    total: int
    limit: int
    offset: int


class SkuPublic(BaseModel):
    sku: str
    name: str
    price_cents: int
    currency: str
    attributes: dict[str, str]
    product_id: str
    product_name: str
    brand: str
    category: str
    tax_class: str
    available: int | None = None


class CategoryPublic(BaseModel):
    name: str
    title: str
    product_count: int


class StockSettings(BaseSettings):
    """CATALOG_STOCK_CACHE_SECONDS (default 1, 0 turns it off): how long a stock level read
    from inventory is shown again before it is asked anew."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    stock_cache_seconds: float = Field(1.0, ge=0)


class StockCache:
    """Stock levels per SKU, kept for a second: a page of results asks inventory only for
    the SKUs it has not seen lately. Availability on a product page may be a second old;
    the checkout's reservation is what decides whether stock is there."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._levels: dict[str, tuple[int, float]] = {}

    def get(self, skus: list[str], now: float) -> tuple[dict[str, int], list[str]]:
        found, missing = {}, []
        for sku in skus:
            hit = self._levels.get(sku)
            if hit is not None and hit[1] > now:
                found[sku] = hit[0]
            else:
                missing.append(sku)
        return found, missing

    def put(self, levels: dict[str, int], now: float) -> None:
        if len(self._levels) > 50_000:  # bounded: the catalog has far fewer SKUs
            self._levels.clear()
        expires = now + self.seconds
        for sku, level in levels.items():
            self._levels[sku] = (level, expires)


def _stock_cache(runtime: ServiceRuntime) -> StockCache:
    cache = runtime.state.get("stock_cache")
    if cache is None:
        cache = runtime.state["stock_cache"] = StockCache(StockSettings().stock_cache_seconds)
    assert isinstance(cache, StockCache)
    return cache


async def stock_levels(runtime: ServiceRuntime, skus: list[str]) -> dict[str, int] | None:
    """Available units per SKU (inventory asked once, for the SKUs not seen lately);
    None when inventory cannot answer."""
    if not skus:
        return {}
    cache = _stock_cache(runtime)
    now = time.monotonic()
    found, missing = cache.get(skus, now)
    if not missing:
        return found
    try:
        response = await runtime.http.get(
            f"{runtime.url_of('inventory')}/stock", params={"sku": missing}, timeout=1.0
        )
        response.raise_for_status()
    except (httpx.HTTPError, KeyError) as exc:
        log.warning("catalog.stock_unavailable", error=str(exc))
        return None
    fresh = {item["sku"]: int(item["available"]) for item in response.json()["items"]}
    if cache.seconds:
        cache.put({sku: fresh.get(sku, 0) for sku in missing}, now)
    return {**found, **fresh}


def _with_stock(product: dict[str, Any], levels: dict[str, int] | None) -> ProductPublic:
    items = [
        VariantPublic(**v, available=None if levels is None else levels.get(v["sku"], 0))
        for v in product["variants"]
    ]
    availability: Availability = "unknown"
    if levels is not None:
        availability = "in_stock" if any((v.available or 0) > 0 for v in items) else "out_of_stock"
    fields = {
        k: product[k] for k in ProductPublic.model_fields if k not in ("variants", "availability")
    }
    return ProductPublic(**fields, variants=items, availability=availability)


@router.get("/products", operation_id="products-search", response_model=ProductsPublic)
async def search_products(
    runtime: RuntimeDep,
    request: Request,
    q: Annotated[str | None, Query(max_length=200, description="Words, typos welcome")] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    brand: Annotated[str | None, Query(max_length=100)] = None,
    min_price_cents: Annotated[int | None, Query(ge=0)] = None,
    max_price_cents: Annotated[int | None, Query(ge=0)] = None,
    sort: product_search.Sort = "relevance",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> ProductsPublic:
    """Search by text with filters; `attr.<name>=<value>` filters on attributes (e.g. `attr.color=black`)."""
    if (
        min_price_cents is not None
        and max_price_cents is not None
        and min_price_cents > max_price_cents
    ):
        raise HTTPException(422, detail="min_price_cents must not exceed max_price_cents")
    attributes = {
        k[5:]: v for k, v in request.query_params.items() if k.startswith("attr.") and len(k) > 5
    }
    query = product_search.Query(
        q=(q or "").strip() or None, category=category, brand=brand, min_price_cents=min_price_cents,
        max_price_cents=max_price_cents, attributes=attributes, sort=sort, limit=limit, offset=offset,
    )  # fmt: skip
    async with runtime.db.sessions() as session:
        rows, total = await product_search.search(session, query)
    levels = await stock_levels(runtime, [v["sku"] for r in rows for v in r["variants"]])
    return ProductsPublic(
        items=[_with_stock(r, levels) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/products/{product_id}", operation_id="products-get", response_model=ProductPublic)
async def get_product(runtime: RuntimeDep, product_id: str) -> ProductPublic:
    async with runtime.db.sessions() as session:
        row = (
            (await session.execute(select(products).where(products.c.product_id == product_id)))
            .mappings()
            .first()
        )
        if row is None:
            raise HTTPException(404, detail=f"unknown product {product_id!r}")
        found = (
            await session.execute(
                select(
                    variants.c.sku, variants.c.name, variants.c.price_cents, variants.c.attributes
                )
                .where(variants.c.product_id == product_id)
                .order_by(variants.c.price_cents, variants.c.sku)
            )
        ).mappings()
        product = {**row, "variants": [dict(v) for v in found]}
    return _with_stock(
        product, await stock_levels(runtime, [v["sku"] for v in product["variants"]])
    )


@router.get("/skus/{sku}", operation_id="skus-get", response_model=SkuPublic)
async def get_sku(runtime: RuntimeDep, sku: str) -> SkuPublic:
    """One SKU with its price and product; used to price carts (never trust a client's price)."""
    async with runtime.db.sessions() as session:
        row = (
            (
                await session.execute(
                    select(
                        variants.c.sku,
                        variants.c.name,
                        variants.c.price_cents,
                        variants.c.attributes,
                        products.c.product_id,
                        products.c.name.label("product_name"),
                        products.c.brand,
                        products.c.category,
                        products.c.tax_class,
                        products.c.currency,
                    )
                    .join(products, products.c.product_id == variants.c.product_id)
                    .where(variants.c.sku == sku)
                )
            )
            .mappings()
            .first()
        )
    if row is None:
        raise HTTPException(404, detail=f"unknown SKU {sku!r}")
    levels = await stock_levels(runtime, [sku])
    return SkuPublic(**row, available=None if levels is None else levels.get(sku, 0))


@router.get(
    "/categories",
    operation_id="categories-list",
    response_model=list[CategoryPublic],
    tags=["categories"],
)
async def list_categories(runtime: RuntimeDep) -> list[CategoryPublic]:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT c.name, c.title, count(p.product_id) AS product_count FROM categories c "
                "LEFT JOIN products p ON p.category = c.name GROUP BY c.name, c.title ORDER BY c.name"
            )
        )
        return [CategoryPublic(**r) for r in rows.mappings()]


__all__ = ["categories", "router"]
