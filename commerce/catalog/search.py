"""Product search: PostgreSQL full text (stemmed, weighted, accent-free) plus trigram
similarity for typos and partial words, filters, sorting, one query per page. The query
ranks and counts; the products themselves come from the catalog's documents in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

Sort = Literal["relevance", "price_asc", "price_desc", "name"]
ORDER = {
    "relevance": "score DESC, p.name",
    "price_asc": "p.min_price_cents, p.name",
    "price_desc": "p.max_price_cents DESC, p.name",
    "name": "p.name",
}
SIMILARITY = 0.3  # word similarity at or above which a typo still matches

SEARCH_VECTOR = """
    setweight(to_tsvector('english', unaccent(name)), 'A') ||
    setweight(to_tsvector('english', unaccent(brand)), 'B') ||
    setweight(to_tsvector('english', unaccent(category)), 'B') ||
    setweight(to_tsvector('english', unaccent(description)), 'C')
"""


@dataclass
class Query:
    q: str | None = None
    category: str | None = None
    brand: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    sort: Sort = "relevance"
    limit: int = 20
    offset: int = 0

    def key(self) -> tuple[object, ...]:
        """The same search as a hashable value (attribute filters in name order)."""
        return (
            self.q, self.category, self.brand, self.min_price_cents, self.max_price_cents,
            tuple(sorted(self.attributes.items())), self.sort, self.limit, self.offset,
        )  # fmt: skip


async def search(session: AsyncSession, query: Query) -> tuple[list[str], int]:
    """The ids of one page of matching products, best first, and how many match in all."""
    where = ["TRUE"]
    params: dict[str, Any] = {
        "limit": query.limit,
        "offset": query.offset,
        "similarity": SIMILARITY,
    }
    score = "0"
    if query.q:
        params["q"] = query.q
        where.append(
            "(p.search @@ websearch_to_tsquery('english', unaccent(:q))"
            " OR word_similarity(unaccent(:q), p.name) >= :similarity)"
        )
        score = (
            "ts_rank(p.search, websearch_to_tsquery('english', unaccent(:q))) * 2"
            " + word_similarity(unaccent(:q), p.name)"
        )
    if query.category:
        where.append("p.category = :category")
        params["category"] = query.category
    if query.brand:
        where.append("lower(p.brand) = lower(:brand)")
        params["brand"] = query.brand
    if query.min_price_cents is not None:
        where.append("p.max_price_cents >= :min_price")
        params["min_price"] = query.min_price_cents
    if query.max_price_cents is not None:
        where.append("p.min_price_cents <= :max_price")
        params["max_price"] = query.max_price_cents
    for n, (key, value) in enumerate(sorted(query.attributes.items())):
        where.append(
            f"(p.attributes @> jsonb_build_object(CAST(:ak{n} AS text), CAST(:av{n} AS text)) OR EXISTS ("
            f"SELECT 1 FROM variants v WHERE v.product_id = p.product_id"
            f" AND v.attributes @> jsonb_build_object(CAST(:ak{n} AS text), CAST(:av{n} AS text))))"
        )
        params[f"ak{n}"], params[f"av{n}"] = key, value
    sql = f"""
        SELECT p.product_id, {score} AS score, count(*) OVER () AS total
        FROM products p
        WHERE {" AND ".join(where)}
        ORDER BY {ORDER[query.sort]}
        LIMIT :limit OFFSET :offset
    """
    rows = (await session.execute(text(sql), params)).all()
    total = int(rows[0].total) if rows else 0
    if not rows and query.offset:
        count_sql = f"SELECT count(*) FROM products p WHERE {' AND '.join(where)}"
        total = int((await session.execute(text(count_sql), params)).scalar_one())
    return [str(row.product_id) for row in rows], total
