"""The catalog's products in memory, read from its database and kept for a while.

Products and their SKUs change only when the catalog is seeded or migrated, while they
are read on every search, product page and cart addition. So the catalog reads them all
at once (about 6,300 products and 20,000 SKUs) into plain dicts already in the
shape of its answers, at start (`Catalog.warm_up`, with the search's model) or on first
use. Once they are `seconds` old (CATALOG_PRODUCT_CACHE_SECONDS) a cheap query checks
whether the catalog changed since (`signature`); only then are they read again, in the
background, the old ones answering meanwhile, and the rows are turned into documents in
a thread, so no request waits for a reading (ADR 24). PostgreSQL stays the source of
truth and still ranks searches; the ids of each search's page are kept with the
documents they point to, so a search asked again costs no query while the catalog is
unchanged. Stock levels are not part of the documents: they change all the time and are
laid over each answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import structlog
from cachetools import LRUCache
from sqlalchemy import text

from commerce.catalog import search as product_search
from commerce.catalog.embedding import embedder
from commerce.platform.db import Database

log = structlog.get_logger(__name__)
SEARCHES_KEPT = 4096  # pages of search results per reading of the documents

PRODUCT_FIELDS = (
    "product_id", "name", "brand", "category", "description", "tax_class", "attributes",
    "min_price_cents", "max_price_cents", "currency", "product_type", "rating", "review_count",
)  # fmt: skip
"""The fields of a product answer before `availability` and `variants`, in answer order."""
Signature = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class ProductDocument:
    fields: dict[str, Any]
    variants: tuple[dict[str, Any], ...]  # sku, name, price_cents, attributes; cheapest first


@dataclass(slots=True)
class Documents:
    """Every product and SKU as read at `read_at`, and the searches answered since."""

    products: dict[str, ProductDocument]
    skus: dict[str, dict[str, Any]]  # the fields of a SKU answer before `available`
    read_at: float
    signature: Signature = ()
    searches: LRUCache[tuple[object, ...], product_search.Result] = field(
        default_factory=lambda: LRUCache(SEARCHES_KEPT)
    )
    _types: product_search.ProductTypes | None = None
    _identifiers: dict[str, str] | None = None

    def named_exactly(self, q: str | None) -> list[str]:
        """The product whose id, or one of whose SKUs, `q` is (any case, spaces around
        ignored): a list of at most one product id."""
        if self._identifiers is None:
            ids = {sku.casefold(): doc["product_id"] for sku, doc in self.skus.items()}
            ids.update({product_id.casefold(): product_id for product_id in self.products})
            self._identifiers = ids
        found = self._identifiers.get((q or "").strip().casefold())
        return [found] if found is not None else []

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


PRODUCTS_SQL = (
    "SELECT "
    + ", ".join("attributes::text" if f == "attributes" else f for f in PRODUCT_FIELDS)
    + " FROM products"
)
VARIANTS_SQL = (
    "SELECT product_id, sku, name, price_cents, attributes::text FROM variants"
    " ORDER BY price_cents, sku"
)
# What changes when any product, SKU or department is added, changed or removed: row
# counts and the newest row version (xmin, the transaction that wrote it). A few ms.
SIGNATURE_SQL = """
    SELECT (SELECT count(*) FROM products), (SELECT max(xmin::text::bigint) FROM products),
           (SELECT count(*) FROM variants), (SELECT max(xmin::text::bigint) FROM variants),
           (SELECT count(*) FROM categories), (SELECT max(xmin::text::bigint) FROM categories)
"""


async def signature(db: Database) -> Signature:
    """A value that changes whenever the catalog's products, SKUs or departments do."""
    async with db.sessions() as session:
        return tuple((await session.execute(text(SIGNATURE_SQL))).one())


async def read_documents(db: Database, now: float) -> Documents:
    """Every product and SKU, with the product types built. The rows are fetched on the
    loop; turning them into documents (about 26,000 rows, JSON decoded with orjson) runs
    in a thread so that requests keep being served meanwhile."""
    async with db.sessions() as session:
        mark = tuple((await session.execute(text(SIGNATURE_SQL))).one())
        product_rows = (await session.execute(text(PRODUCTS_SQL))).all()
        variant_rows = (await session.execute(text(VARIANTS_SQL))).all()
    return await asyncio.to_thread(_documents, product_rows, variant_rows, now, mark)


def _documents(
    product_rows: Sequence[Sequence[Any]],
    variant_rows: Sequence[Sequence[Any]],
    now: float,
    mark: Signature,
) -> Documents:
    at = PRODUCT_FIELDS.index("attributes")
    found: dict[str, dict[str, Any]] = {}
    for row in product_rows:
        fields = dict(zip(PRODUCT_FIELDS, row, strict=True))
        fields["attributes"] = orjson.loads(row[at])
        found[fields["product_id"]] = fields
    by_product: dict[str, list[dict[str, Any]]] = {product_id: [] for product_id in found}
    skus: dict[str, dict[str, Any]] = {}
    for product_id, sku, name, price_cents, attributes_text in variant_rows:
        product = found[product_id]
        attributes = orjson.loads(attributes_text)
        by_product[product_id].append(
            {"sku": sku, "name": name, "price_cents": price_cents, "attributes": attributes}
        )
        skus[sku] = {
            "sku": sku, "name": name, "price_cents": price_cents,
            "currency": product["currency"], "attributes": attributes,
            "product_id": product_id, "product_name": product["name"],
            "brand": product["brand"], "category": product["category"],
            "tax_class": product["tax_class"], "product_type": product["product_type"],
        }  # fmt: skip
    documents = Documents(
        products={
            product_id: ProductDocument(fields, tuple(by_product[product_id]))
            for product_id, fields in found.items()
        },
        skus=skus,
        read_at=now,
        signature=mark,
    )
    _ = documents.types  # built here, in the reading's thread, not on a search
    documents.named_exactly(None)  # and the identifiers
    return documents


class Catalog:
    """The documents, read on first use (whoever asks meanwhile waits for that reading) or
    by `warm_up` at start. Once `seconds` old they are checked in the background: read
    again if the catalog changed since (the old ones answering until the new ones are
    in), else kept with the searches answered from them. Products change rarely, and no
    page should wait for a reading."""

    def __init__(
        self, db: Database, seconds: float, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.db = db
        self.seconds = seconds
        self._timer = timer
        self._documents: Documents | None = None
        self._first = asyncio.Lock()
        self._again: asyncio.Task[None] | None = None
        self.readings = 0  # times the documents were read (checks finding no change aside)

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
                    self.readings += 1
                return self._documents
        if self._timer() - current.read_at >= self.seconds and self._again is None:
            self._again = asyncio.create_task(self._read_again(current))
        return current

    async def warm_up(self) -> None:
        """Read the documents and load the search's embedding model (in a thread), so
        that the first searches do not wait for either."""
        await asyncio.gather(self.documents(), asyncio.to_thread(embedder))

    async def _read_again(self, current: Documents) -> None:
        try:
            if await signature(self.db) == current.signature:
                current.read_at = self._timer()  # unchanged: keep them and their searches
            else:
                self._documents = await read_documents(self.db, self._timer())
                self.readings += 1
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
                result = await product_search.search(
                    session, query, documents.types, exact=documents.named_exactly(query.q)
                )
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
