"""The catalog's products in memory, read from its database and kept for a while.

Products and their SKUs change only when the catalog is seeded or migrated, while they
are read on every search, product page and cart addition. So the catalog reads them all
at once (about 6,300 products and 20,000 SKUs) into plain dicts already in the
shape of its answers, and reads them again once they are `seconds` old
(CATALOG_PRODUCT_CACHE_SECONDS) if they changed meanwhile: a query for the tables'
version (row counts and transaction ids, `read_version`) says whether they did, so an
unchanged catalog costs that one query, not a reading (building the documents takes a
few hundred milliseconds of the event loop). PostgreSQL stays the source of truth and still ranks
searches; the ids of each search's page are kept with the documents they point to, so a
search asked again costs no query until the documents are read again (in the background,
the old ones answering meanwhile). Stock levels are not part of the documents: they
change all the time and are laid over each answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from cachetools import LRUCache
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog import search as product_search
from commerce.catalog.tables import products, variants
from commerce.platform.db import Database

log = structlog.get_logger(__name__)
SEARCHES_KEPT = 4096  # pages of search results per reading of the documents

PRODUCT_FIELDS = (
    "product_id", "name", "brand", "category", "description", "tax_class", "attributes",
    "min_price_cents", "max_price_cents", "currency", "product_type", "rating", "review_count",
)  # fmt: skip
"""The fields of a product answer before `availability` and `variants`, in answer order."""


@dataclass(frozen=True, slots=True)
class ProductDocument:
    fields: dict[str, Any]
    variants: tuple[dict[str, Any], ...]  # sku, name, price_cents, attributes; cheapest first


@dataclass(slots=True)
class Documents:
    """Every product and SKU as read at `read_at`, and the searches answered since."""

    products: dict[str, ProductDocument]
    skus: dict[str, dict[str, Any]]  # the fields of a SKU answer before `available`
    read_at: float  # when read, or last found unchanged
    version: str = ""  # `read_version` before they were read
    searches: LRUCache[tuple[object, ...], product_search.Result] = field(
        default_factory=lambda: LRUCache(SEARCHES_KEPT)
    )
    _types: product_search.ProductTypes | None = None

    @property
    def types(self) -> product_search.ProductTypes:
        """The product types of these products (for the search's type guard)."""
        if self._types is None:
            self._types = product_search.ProductTypes(
                {
                    product_id: str(doc.fields["product_type"])
                    for product_id, doc in self.products.items()
                    if doc.fields.get("product_type")
                },
                {product_id: str(doc.fields["name"]) for product_id, doc in self.products.items()},
                {
                    str(value)
                    for doc in self.products.values()
                    for attributes in (
                        doc.fields["attributes"],
                        *(v["attributes"] for v in doc.variants),
                    )
                    for value in attributes.values()
                },
            )
        return self._types


# Any insert, update or delete of a product or SKU changes a row count or the sum of the
# rows' creating transaction ids (xmin; freezing keeps it). Deliberately one scan of each
# table's rows (no index, no TOAST): a few milliseconds, once per CATALOG_PRODUCT_CACHE_SECONDS.
_VERSION = text(
    "SELECT (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM products)"
    " || '/' || (SELECT count(*) || ':' || coalesce(sum(xmin::text::bigint), 0) FROM variants)"
)


async def read_version(session: AsyncSession) -> str:
    """What the products and SKUs are now: equal versions, equal rows."""
    return str(await session.scalar(_VERSION))


async def read_documents(db: Database, now: float) -> Documents:
    async with db.sessions() as session:
        version = await read_version(session)  # first: a change while reading shows next time
        product_rows = (
            await session.execute(select(*(products.c[name] for name in PRODUCT_FIELDS)))
        ).mappings()
        # Keys spelled here: the row's own are SQLAlchemy's `quoted_name`, which orjson refuses.
        found = {row["product_id"]: {k: row[k] for k in PRODUCT_FIELDS} for row in product_rows}
        variant_rows = (
            await session.execute(
                select(
                    variants.c.product_id,
                    variants.c.sku,
                    variants.c.name,
                    variants.c.price_cents,
                    variants.c.attributes,
                ).order_by(variants.c.price_cents, variants.c.sku)
            )
        ).mappings()
        by_product: dict[str, list[dict[str, Any]]] = {product_id: [] for product_id in found}
        skus: dict[str, dict[str, Any]] = {}
        for row in variant_rows:
            product = found[row["product_id"]]
            by_product[row["product_id"]].append(
                {k: row[k] for k in ("sku", "name", "price_cents", "attributes")}
            )
            skus[row["sku"]] = {
                "sku": row["sku"], "name": row["name"], "price_cents": row["price_cents"],
                "currency": product["currency"], "attributes": row["attributes"],
                "product_id": product["product_id"], "product_name": product["name"],
                "brand": product["brand"], "category": product["category"],
                "tax_class": product["tax_class"], "product_type": product["product_type"],
            }  # fmt: skip
    return Documents(
        products={
            product_id: ProductDocument(fields, tuple(by_product[product_id]))
            for product_id, fields in found.items()
        },
        skus=skus,
        read_at=now,
        version=version,
    )


class Catalog:
    """The documents, read on first use (whoever asks meanwhile waits for that reading);
    once `seconds` old, their version is checked in the background and they are read again
    only if it changed, the old ones answering until the new ones are in: products change
    rarely, and no page should wait for a reading."""

    def __init__(
        self, db: Database, seconds: float, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.seconds = seconds
        self._timer = timer
        self._documents: Documents | None = None
        self._first = asyncio.Lock()
        self._again: asyncio.Task[None] | None = None

    @property
    def loaded(self) -> Documents | None:
        """The documents last read, whatever their age (None before the first reading)."""
        return self._documents

    async def documents(self) -> Documents:
        current = self._documents
        if current is None:
            async with self._first:
                if self._documents is None:
                    self._documents = await read_documents(self.db, self._timer())
                return self._documents
        if self._timer() - current.read_at >= self.seconds and self._again is None:
            self._again = asyncio.create_task(self._read_again())
        return current

    async def _read_again(self) -> None:
        try:
            current = self._documents
            if current is not None and current.version:
                async with self.db.sessions() as session:
                    unchanged = await read_version(session) == current.version
                if unchanged:
                    current.read_at = self._timer()
                    return
            self._documents = await read_documents(self.db, self._timer())
        except Exception:
            log.exception("catalog.documents_unreadable")  # the old ones keep answering
        finally:
            self._again = None

    async def product(self, product_id: str) -> ProductDocument | None:
        return (await self.documents()).products.get(product_id)

    async def sku(self, sku: str) -> dict[str, Any] | None:
        return (await self.documents()).skus.get(sku)

    async def search(self, query: product_search.Query) -> Found:
        """One page of matching products, ranked by PostgreSQL and `search.rank`."""
        documents = await self.documents()
        key = query.key()
        result = documents.searches.get(key)
        if result is None:
            async with self.db.sessions() as session:
                result = await product_search.search(session, query, documents.types)
            documents.searches[key] = result
        # A product seeded after the documents were read is left out until the next reading.
        known = documents.products
        hits = [h for h in result.hits if h.product_id in known]
        nearest = [h for h in result.nearest if h.product_id in known]
        return Found(
            [(known[h.product_id], h) for h in hits],
            result,
            [known[h.product_id] for h in nearest],
            product_search.nearest_categories(
                result, {h.product_id: known[h.product_id].fields["category"] for h in nearest}
            ),
        )


@dataclass(frozen=True, slots=True)
class Found:
    """A search's page: each product with its hit, the search's result (total, verdict),
    and with a "none" verdict the nearest products and their departments."""

    page: list[tuple[ProductDocument, product_search.Hit]]
    result: product_search.Result
    nearest: list[ProductDocument]
    nearest_categories: list[str]
