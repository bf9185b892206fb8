"""catalog's HTTP API: search, product detail, SKU lookup, categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text

from commerce.catalog import search as product_search
from commerce.catalog.documents import Catalog, ProductDocument
from commerce.catalog.domain import Availability, with_stock
from commerce.catalog.stock import RecentSkus, StockLevels
from commerce.catalog.tables import categories
from commerce.platform.service import RuntimeDep, ServiceRuntime, Slot

router = APIRouter(tags=["products"])


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
                "currency": "USD", "product_type": "usb-c cable", "rating": 4.6, "review_count": 212,
                "availability": "in_stock",
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
    product_type: str = ""
    rating: float | None = None
    review_count: int = 0
    availability: Availability = "unknown"
    variants: list[VariantPublic]


class SearchHitPublic(BaseModel):
    """Why a product of `items` (same position) ranks where it does."""

    product_id: str
    product_type: str | None = Field(None, description="the product's kind, e.g. 'running shoes'")
    score: float = Field(description="fused score (reciprocal rank fusion), higher is better")
    lexical_rank: int | None = Field(None, description="rank by full text and trigrams (1 = best)")
    semantic_rank: int | None = Field(None, description="rank by embedding similarity (1 = best)")
    similarity: float | None = Field(None, description="cosine similarity of query and product")


class ProductsPublic(BaseModel):
    """A page of products. With `q`, `match` says whether the shop carries what was asked
    for: "matched" (the query names a product type the catalog has, or all its words occur
    in products), "related" (only close in meaning), or "none": the shop does not carry it;
    `items` is then empty and `nearest` / `nearest_categories` give what comes closest."""

    items: list[ProductPublic]
    total: int
    limit: int
    offset: int
    match: product_search.Match | None = Field(None, description="null for a search without words")
    query_types: list[str] = Field(
        default_factory=list, description="product types the query names"
    )
    hits: list[SearchHitPublic] = Field(
        default_factory=list, description="one per item, same order"
    )
    nearest: list[ProductPublic] = Field(default_factory=list)
    nearest_categories: list[str] = Field(default_factory=list)


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
    product_type: str = ""
    available: int | None = None


class CategoryPublic(BaseModel):
    name: str
    title: str
    icon: str = ""
    product_count: int


@dataclass
class CatalogState:
    """The catalog service's own objects: the in-memory documents, the stock levels read
    from inventory (at most CATALOG_STOCK_CACHE_SECONDS old), the SKUs shown lately."""

    catalog: Catalog
    stock: StockLevels
    recent: RecentSkus


def _state(runtime: ServiceRuntime) -> CatalogState:
    async def read(skus: Sequence[str]) -> dict[str, int]:
        response = await runtime.http.get(
            f"{runtime.url_of('inventory')}/stock", params={"sku": list(skus)}, timeout=1.0
        )
        response.raise_for_status()
        return {item["sku"]: int(item["available"]) for item in response.json()["items"]}

    settings = runtime.settings.catalog
    return CatalogState(
        catalog=Catalog(runtime.db, settings.product_cache_seconds),
        stock=StockLevels(settings.stock_cache_seconds, read),
        recent=RecentSkus(),
    )


STATE = Slot(_state)


def _catalog(runtime: ServiceRuntime) -> Catalog:
    return STATE.of(runtime).catalog


async def warm_up(runtime: ServiceRuntime) -> None:
    """At start: the documents read and the search's model loaded before the first page
    asks (a background task of the service; pages asking meanwhile wait for them)."""
    await _catalog(runtime).warm_up()


async def stock_levels(runtime: ServiceRuntime, skus: list[str]) -> dict[str, int] | None:
    """Available units per SKU, at most CATALOG_STOCK_CACHE_SECONDS old; None when
    inventory cannot answer."""
    state = STATE.of(runtime)
    state.recent.add(skus)
    return await state.stock.of(skus, state.recent)


def _with_stock(product: ProductDocument, levels: dict[str, int] | None) -> dict[str, Any]:
    """A product answer (the fields of `ProductPublic`, in order) with its stock laid over."""
    availability, items = with_stock(product.variants, levels)
    return {**product.fields, "availability": availability, "variants": items}


def _json(content: object) -> Response:
    """The answer encoded once, here: orjson writes the same bytes FastAPI's JSONResponse
    would for these documents, without a validation and encoding pass per request."""
    return Response(orjson.dumps(content), media_type="application/json")


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
    mode: Annotated[
        product_search.Mode, Query(description="rankings used for `q` (hybrid unless measuring)")
    ] = "hybrid",
) -> Response:
    """Search by text with filters; `attr.<name>=<value>` filters on attributes (e.g. `attr.color=black`).

    Words are ranked lexically and by meaning, fused, with products of the kind the query
    names first; `match` tells "we don't carry that" (`none`) from a real result."""
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
        mode=mode,
    )  # fmt: skip
    found = await _catalog(runtime).search(query)
    shown = [p for p, _ in found.page] + found.nearest
    levels = await stock_levels(runtime, [v["sku"] for p in shown for v in p.variants])
    result = found.result
    body: dict[str, Any] = {
        "items": [_with_stock(p, levels) for p, _ in found.page],
        "total": result.total,
        "limit": limit,
        "offset": offset,
        "match": result.match if query.q else None,
        "query_types": list(result.query_types),
        "hits": [
            {
                "product_id": h.product_id, "product_type": p.fields.get("product_type"),
                "score": h.score, "lexical_rank": h.lexical_rank,
                "semantic_rank": h.semantic_rank, "similarity": h.similarity,
            }
            for p, h in found.page
        ] if query.q else [],
        "nearest": [_with_stock(p, levels) for p in found.nearest],
        "nearest_categories": found.nearest_categories,
    }  # fmt: skip
    return _json(body)


@router.get("/products/{product_id}", operation_id="products-get", response_model=ProductPublic)
async def get_product(runtime: RuntimeDep, product_id: str) -> Response:
    product = await _catalog(runtime).product(product_id)
    if product is None:
        raise HTTPException(404, detail=f"unknown product {product_id!r}")
    levels = await stock_levels(runtime, [v["sku"] for v in product.variants])
    return _json(_with_stock(product, levels))


@router.get("/skus/{sku}", operation_id="skus-get", response_model=SkuPublic)
async def get_sku(runtime: RuntimeDep, sku: str) -> Response:
    """One SKU with its price and product; used to price carts (never trust a client's price)."""
    found = await _catalog(runtime).sku(sku)
    if found is None:
        raise HTTPException(404, detail=f"unknown SKU {sku!r}")
    levels = await stock_levels(runtime, [sku])
    return _json({**found, "available": None if levels is None else levels.get(sku, 0)})


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
                "SELECT c.name, c.title, c.icon, count(p.product_id) AS product_count FROM categories c"
                " LEFT JOIN products p ON p.category = c.name GROUP BY c.name ORDER BY c.name"
            )
        )
        return [CategoryPublic(**r) for r in rows.mappings()]


__all__ = ["categories", "router"]
