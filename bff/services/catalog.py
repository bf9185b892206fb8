"""The catalog, read through the BFF's cache: searches, products and SKUs (public)."""

from __future__ import annotations

from typing import Any

from bff.catalog_cache import Upstream
from bff.upstream import catalog_get
from commerce.platform.service import ServiceRuntime
from shopapi.client import seg


async def search(runtime: ServiceRuntime, params: tuple[tuple[str, str], ...]) -> Upstream:
    """The catalog's answer to a search (`ProductsPublic`), as sent. One value per name,
    in name order, makes the same search one cache entry."""
    return await catalog_get(runtime, "/products", tuple(sorted(params)))


async def product(runtime: ServiceRuntime, product_id: str) -> Upstream:
    """One product (`ProductPublic`), as sent; 404 when there is none."""
    return await catalog_get(runtime, f"/products/{seg(product_id)}")


async def sku(runtime: ServiceRuntime, sku: str) -> dict[str, Any]:
    """One SKU with its price, product and stock; 404 when there is none."""
    found: dict[str, Any] = (await catalog_get(runtime, f"/skus/{seg(sku)}")).json
    return found
