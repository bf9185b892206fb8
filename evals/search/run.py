"""Run judged queries through the catalog's search (the same function the service calls,
against the catalog's real database) and score them per mode, split and kind."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import text

from commerce.catalog import search as product_search
from commerce.catalog.documents import read_documents
from commerce.platform.db import Database
from evals.search.judge import Answer, Figures, Judged, Product, score

T = TypeVar("T")
MODES: tuple[product_search.Mode, ...] = ("lexical", "semantic", "hybrid")


async def catalog_products(db: Database) -> list[Product]:
    """Every product's type and attribute values (its own and its variants')."""
    async with db.sessions() as session:
        rows = await session.execute(
            text(
                "SELECT p.product_id, p.name, to_jsonb(p) ->> 'product_type' AS product_type,"
                " p.attributes, coalesce(jsonb_agg(v.attributes)"
                "   FILTER (WHERE v.sku IS NOT NULL), '[]') AS variant_attributes"
                " FROM products p LEFT JOIN variants v ON v.product_id = p.product_id"
                " GROUP BY p.product_id, p.name ORDER BY p.product_id"
            )
        )
        out = []
        for row in rows:
            values: dict[str, set[str]] = defaultdict(set)
            for attrs in [row.attributes, *row.variant_attributes]:
                for k, v in attrs.items():
                    values[k].add(str(v))
            out.append(
                Product(
                    row.product_id,
                    row.product_type or "",
                    {k: frozenset(v) for k, v in values.items()},
                    row.name,
                )
            )
        return out


async def answers(
    db: Database,
    judged: Sequence[Judged],
    mode: product_search.Mode,
    depth: int = 50,
    timings: list[float] | None = None,
) -> dict[str, Answer]:
    """Each query's answer; `timings` gets each search's milliseconds (one at a time,
    nothing cached but the query's embedding, as a catalog serves a search never seen)."""
    documents = await read_documents(db, 0.0)
    out = {}
    async with db.sessions() as session:
        for query in judged:
            started = time.perf_counter()
            result = await product_search.search(
                session, product_search.Query(q=query.q, limit=depth, mode=mode), documents.types
            )
            if timings is not None:
                timings.append((time.perf_counter() - started) * 1000)
            out[query.id] = Answer([h.product_id for h in result.hits], result.match)
    return out


async def evaluate(
    db: Database,
    judged: Sequence[Judged],
    modes: Sequence[product_search.Mode] = MODES,
    timings: dict[str, list[float]] | None = None,
) -> dict[str, dict[str, dict[str, Figures]]]:
    """figures[mode][split][kind or "all"]; `timings[mode]` gets each search's ms."""
    products = await catalog_products(db)
    figures: dict[str, dict[str, dict[str, Figures]]] = {}
    for mode in modes:
        found = await answers(
            db, judged, mode, timings=None if timings is None else timings.setdefault(mode, [])
        )
        by_split: dict[str, dict[str, Figures]] = {}
        for split in sorted({q.split for q in judged}):
            part = [q for q in judged if q.split == split]
            kinds: dict[str, Any] = {"all": score(part, found, products)}
            for kind in sorted({q.kind for q in part}):
                kinds[kind] = score([q for q in part if q.kind == kind], found, products)
            by_split[split] = kinds
        figures[mode] = by_split
    return figures


def with_seeded_catalog(work: Callable[[Database], Awaitable[T]]) -> T:
    """Run `work` on the catalog's database, migrated and seeded: DATABASE_URL's server
    when set, else a fresh embedded PostgreSQL (no broker) in a temporary folder."""
    import asyncio
    import os
    import tempfile
    from pathlib import Path

    from commerce.platform import stack
    from commerce.platform.settings import Settings, get_settings
    from commerce.services import SERVICES

    async def run(settings: Settings) -> T:
        await stack.migrate(settings, ["catalog"])
        await stack.seed(settings, ["catalog"])
        spec = SERVICES["catalog"]
        db = Database(settings.service_database_url(spec.env_prefix, spec.database))
        try:
            return await work(db)
        finally:
            await db.dispose()

    if os.environ.get("DATABASE_URL"):
        return asyncio.run(run(get_settings()))
    environment = {
        "AGENTSHOP_DATA_DIR": str(Path(tempfile.mkdtemp()) / "data"),
        "KAFKA_BOOTSTRAP_SERVERS": "unused:9092",  # no broker needed
        **os.environ,
    }
    with stack.infrastructure(environment) as infra:
        return asyncio.run(run(infra.settings))
