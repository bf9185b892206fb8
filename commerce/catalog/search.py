"""Product search: lexical (PostgreSQL full text, stemmed, weighted and accent-free, plus
trigram similarity for typos and partial words) and semantic (pgvector cosine distance to
the query's embedding) rankings fused by reciprocal rank, a product-type guard, and a
verdict on whether the shop carries what was asked for at all (ADR 24).

Without words a search is a filtered listing, one query per page. With words, one query
fetches the best `CANDIDATES` of each ranking (filters applied), and the rest happens here:

- fusion: a product's score is the sum of 1 / (RRF_K + rank) over the rankings that
  found it; semantic neighbours less similar than `SEMANTIC_FLOOR` are left out;
- product-type guard: when the query names a kind of product the catalog has (its head
  noun, typos allowed: "running shoes", "shoos"), products of that kind come first, so a
  query for shoes never ranks shorts first;
- identifiers: a query that is a product id or a SKU (any case) puts that product first,
  whatever the rankings say ("BAT-AA-8" is that pack of batteries, not the product whose
  words resemble the code most), and is "matched";
- verdict (`Match`, `verdict`): "matched" when the query names a kind the catalog has
  (and any qualifier the catalog knows is one its products of that kind have: not
  "ice cream" where the shop sells hand cream), or its words all occur in one product's name,
  type and brand, or a product's name is within a typo of it; "related" when only the
  meaning is close (semantic similarity ≥ `RELATED_SIMILARITY`, or `RELATED_QUALIFIED`
  for a kind with a qualifier none of it has); "none" otherwise: the shop does not
  carry it, and the nearest products and departments are given instead of results.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.catalog.embedding import embedder, literal

Sort = Literal["relevance", "price_asc", "price_desc", "name"]
Mode = Literal["hybrid", "lexical", "semantic"]
Match = Literal["matched", "related", "none"]
ORDER = {
    "relevance": "score DESC, p.name",
    "price_asc": "p.min_price_cents, p.name",
    "price_desc": "p.max_price_cents DESC, p.name",
    "name": "p.name",
}
SIMILARITY = 0.3  # word similarity at or above which a typo still matches
TYPO_MATCH = 0.8  # word similarity from which a name counts as what was asked for
CANDIDATES = 100  # per ranking, for a search with words
RRF_K = 10  # reciprocal rank fusion's constant (tuned on the dev split: 10 > 60)
SEMANTIC_FLOOR = 0.35  # cosine similarity below which a semantic neighbour is not a result
RELATED_SIMILARITY = 0.5  # best similarity from which an untyped, unmatched query is "related"
RELATED_QUALIFIED = 0.6  # the same for a query naming a kind with a qualifier none of it has
NEAREST = 5  # products given with a "none" verdict

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
    mode: Mode = "hybrid"

    def key(self) -> tuple[object, ...]:
        """The same search as a hashable value (attribute filters in name order)."""
        return (
            self.q, self.category, self.brand, self.min_price_cents, self.max_price_cents,
            tuple(sorted(self.attributes.items())), self.sort, self.limit, self.offset, self.mode,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked product: its fused score and what each ranking said of it."""

    product_id: str
    score: float
    lexical_rank: int | None = None  # 1 = best
    semantic_rank: int | None = None
    similarity: float | None = None  # cosine similarity of product and query embeddings


@dataclass(frozen=True, slots=True)
class Result:
    """One page of a search: `hits` best first, `total` products in all; for a search
    with words the verdict `match`, the product types the query names, and with "none"
    the `nearest` products (hits is then empty)."""

    hits: list[Hit]
    total: int
    match: Match = "matched"
    query_types: tuple[str, ...] = ()
    nearest: list[Hit] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Candidate:
    product_id: str
    name: str
    category: str
    min_price_cents: int
    max_price_cents: int
    brand: str = ""


# --- words and product types -------------------------------------------------------------

STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "for",
        "with",
        "to",
        "that",
        "which",
        "in",
        "on",
        "at",
        "by",
        "from",
        "under",
        "over",
        "without",
        "like",
        "some",
        "something",
        "anything",
        "thing",
        "things",
        "me",
        "my",
        "i",
        "you",
        "we",
        "our",
        "your",
        "is",
        "are",
        "be",
        "it",
        "its",
    ]
)
BREAK = frozenset(["for", "with", "to", "that", "which", "without", "like", "under", "from"])


def words(phrase: str) -> list[str]:
    """Lower-case, accent-free alphanumeric words, singular (a light English stemmer)."""
    plain = unicodedata.normalize("NFKD", phrase).encode("ascii", "ignore").decode().lower()
    return [singular(w) for w in re.findall(r"[a-z0-9]+", plain)]


@lru_cache(maxsize=65536)
def singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def close(a: str, b: str) -> bool:
    """Same word, or one edit apart (insert, delete, substitute, swap) for words of five
    letters or more that start alike: typos of a product type's noun."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or a[0] != b[0] or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )  # fmt: skip
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def name_head(name: str) -> str | None:
    """The noun a product's name ends on, before any comma, dash or bracket and past
    trailing sizes and counts ("Trailhead 2-Person Camping Tent, Green" → "tent")."""
    core = re.split(r",| - | \u2013 |\(", name, maxsplit=1)[0]
    found = [w for w in words(core) if not w[0].isdigit() and w not in UNITS]
    return found[-1] if found else None


UNITS = frozenset(
    [
        "size",
        "oz",
        "lb",
        "ml",
        "l",
        "g",
        "kg",
        "pack",
        "count",
        "ct",
        "pc",
        "piece",
        "set",
        "in",
        "ft",
        "m",
        "cm",
        "mm",
        "w",
        "v",
        "mah",
    ]
)


@dataclass(frozen=True, slots=True)
class Named:
    """What a query asks for: the head noun it names and the products that are that kind
    of thing (their type's or their name's head noun is it), with their types."""

    head: str
    products: frozenset[str]
    types: tuple[str, ...]
    unknown: tuple[str, ...] = ()  # qualifiers the catalog has, but no product of this kind


class ProductTypes:
    """The kinds of thing the catalog has, by head noun: each product is of the kind its
    product type ends on ("running shoes" → shoe) and of the kind its name ends on ("Dress
    Shoes", "Dog Toy"), as product types group several things ("toys", "garden tools").
    Finds the kind a query names."""

    def __init__(
        self,
        type_of: Mapping[str, str],
        name_of: Mapping[str, str] | None = None,
        values: Iterable[str] = (),
    ) -> None:
        self.type_of = dict(type_of)
        by_head: dict[str, set[str]] = {}
        vocabulary: dict[str, set[str]] = {}  # head -> words of its products' names, types
        for product_id in set(self.type_of) | set(name_of or {}):
            heads = set()
            kind_words = [w for w in words(self.type_of.get(product_id, "")) if w not in STOP]
            if kind_words:
                heads.add(kind_words[-1])
            name = name_of.get(product_id, "") if name_of else ""
            if head := name_head(name):
                heads.add(head)
            for head in heads:
                by_head.setdefault(head, set()).add(product_id)
                vocabulary.setdefault(head, set()).update(kind_words, words(name))
        self.by_head = {head: frozenset(ids) for head, ids in by_head.items()}
        self.vocabulary = {head: frozenset(ws) for head, ws in vocabulary.items()}
        self.words = frozenset(w for ws in vocabulary.values() for w in ws)  # of every name, type
        # Words that qualify a noun rather than name one: attribute values ("black", "xl").
        self.modifiers = frozenset(w for v in values for w in words(v)) - set(self.by_head)
        self._near: dict[tuple[str, int], list[str]] = {}  # (first letter, length) -> heads
        for head in self.by_head:
            self._near.setdefault((head[0], len(head)), []).append(head)

    def head_of(self, word: str) -> str | None:
        """The catalog's head noun `word` is, or is one typo away from."""
        if word in self.by_head:
            return word
        if len(word) < 5:
            return None
        for length in (len(word) - 1, len(word), len(word) + 1):
            for head in self._near.get((word[0], length), ()):
                if close(word, head):
                    return head
        return None

    def named_by(self, q: str) -> Named | None:
        """The kind `q` asks for: the last noun of its first clause (before "for", "with",
        "to", …), past sizes, counts and attribute values ("running shoes size 10", "hoodie
        black"), when it is a head noun of the catalog. None when it names none: "car
        tires" does not name cars."""
        clause: list[str] = []
        for w in words(q):
            if w in BREAK and clause:
                break
            clause.append(w)
        content = [w for w in clause if not self.qualifies(w)]
        if not content:
            return None
        head = self.head_of(content[-1])
        if head is None:
            return None
        ids = self.by_head[head]
        kinds = {self.type_of[i] for i in ids if i in self.type_of}
        known = self.vocabulary.get(head, frozenset())
        # A qualifier the catalog has but not for this kind names another kind ("washing
        # machine" when only bubble machines are sold); one it has nowhere is likely a
        # typo or a word for the same thing ("bown sugar", "teddy bear"), and is let be.
        unknown = tuple(w for w in content[:-1] if w in self.words and not _known(w, known))
        return Named(head, ids, tuple(sorted(kinds)), unknown)

    def qualifies(self, word: str) -> bool:
        """A word that qualifies rather than names: a stop word, a unit, a number, an
        attribute value ("black", "xl")."""
        return word in STOP or word in UNITS or word[0].isdigit() or word in self.modifiers


def _known(word: str, vocabulary: frozenset[str]) -> bool:
    """`word` is in `vocabulary`, or one typo away from a word in it."""
    if word in vocabulary:
        return True
    return len(word) >= 5 and any(close(word, known) for known in vocabulary)


# --- the search --------------------------------------------------------------------------


def _filters(query: Query, params: dict[str, Any]) -> list[str]:
    where = ["TRUE"]
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
    return where


async def search(
    session: AsyncSession,
    query: Query,
    types: ProductTypes | None = None,
    *,
    exact: Sequence[str] = (),
) -> Result:
    """One page of matching products, best first, and how many match in all. `exact`: the
    products whose id or SKU the query is (first when the filters keep them)."""
    if query.q:
        return await _search_words(session, query, types or ProductTypes({}), exact)
    params: dict[str, Any] = {"limit": query.limit, "offset": query.offset}
    where = " AND ".join(_filters(query, params))
    sql = f"""
        SELECT p.product_id, 0 AS score, count(*) OVER () AS total
        FROM products p WHERE {where}
        ORDER BY {ORDER[query.sort]} LIMIT :limit OFFSET :offset
    """
    rows = (await session.execute(text(sql), params)).all()
    total = int(rows[0].total) if rows else 0
    if not rows and query.offset:
        count_sql = f"SELECT count(*) FROM products p WHERE {where}"
        total = int((await session.execute(text(count_sql), params)).scalar_one())
    return Result([Hit(str(r.product_id), 0.0) for r in rows], total)


async def _search_words(
    session: AsyncSession, query: Query, types: ProductTypes, exact: Sequence[str]
) -> Result:
    assert query.q
    params: dict[str, Any] = {
        "q": query.q, "k": CANDIDATES,
    }  # fmt: skip
    where = " AND ".join(_filters(query, params))
    columns = "p.product_id, p.name, p.category, p.min_price_cents, p.max_price_cents, p.brand"
    parts = []
    if exact:  # the products the query names by id or SKU, if the filters keep them
        params["exact"] = list(exact)
        parts.append(f"""(
            SELECT 'exact' AS ranking, {columns}, 0.0 AS score, TRUE AS all_words,
                1.0 AS trigram
            FROM products p
            WHERE {where} AND p.product_id = ANY(CAST(:exact AS text[])))""")
    if query.mode != "semantic":
        parts.append(f"""(
            SELECT 'lexical' AS ranking, {columns},
                ts_rank(p.search, websearch_to_tsquery('english', unaccent(:q))) * 2
                    + word_similarity(unaccent(:q), p.name) AS score,
                p.search @@ websearch_to_tsquery('english', unaccent(:q)) AS all_words,
                word_similarity(unaccent(:q), p.name) AS trigram
            FROM products p
            WHERE {where} AND (p.search @@ websearch_to_tsquery('english', unaccent(:q))
                OR unaccent(:q) <% p.name)
            ORDER BY score DESC, p.product_id LIMIT :k)""")
    if query.mode != "lexical":
        params["v"] = literal(embedder().query(query.q))
        parts.append(f"""(
            SELECT 'semantic' AS ranking, {columns},
                1 - (p.embedding <=> CAST(:v AS vector)) AS score, FALSE AS all_words,
                0.0 AS trigram
            FROM products p
            WHERE {where} AND p.embedding IS NOT NULL
            ORDER BY p.embedding <=> CAST(:v AS vector), p.product_id LIMIT :k)""")
    if query.mode != "semantic":  # `<%` is word_similarity >= this, with the name's index
        await session.execute(
            text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
            {"t": str(SIMILARITY)},
        )
    rows = (await session.execute(text(" UNION ALL ".join(parts)), params)).all()
    return rank(
        query,
        types,
        exact=[str(r.product_id) for r in rows if r.ranking == "exact"],
        lexical=[
            (str(r.product_id), bool(r.all_words), float(r.trigram))
            for r in rows
            if r.ranking == "lexical"
        ],
        semantic=[(str(r.product_id), float(r.score)) for r in rows if r.ranking == "semantic"],
        candidates={
            str(r.product_id): Candidate(
                str(r.product_id),
                r.name,
                r.category,
                r.min_price_cents,
                r.max_price_cents,
                r.brand,
            )
            for r in rows
        },
    )


def rank(
    query: Query,
    types: ProductTypes,
    *,
    lexical: list[tuple[str, bool, float]],
    semantic: list[tuple[str, float]],
    candidates: Mapping[str, Candidate],
    exact: Sequence[str] = (),
) -> Result:
    """Fuse the rankings (each best first), guard the product type, give the verdict and
    cut the page. `lexical` holds (id, all words matched by full text, trigram word
    similarity to the name), `semantic` (id, cosine similarity); `exact` the products
    whose id or SKU the query is, which come first and make the answer "matched"."""
    assert query.q
    scores: dict[str, float] = {}
    first = {product_id: n for n, product_id in enumerate(exact)}
    for product_id in exact:
        scores[product_id] = 0.0
    lexical_rank: dict[str, int] = {}
    semantic_rank: dict[str, int] = {}
    similarity: dict[str, float] = dict(semantic)
    for n, (product_id, _, _) in enumerate(lexical, 1):
        lexical_rank[product_id] = n
        scores[product_id] = scores.get(product_id, 0.0) + 1 / (RRF_K + n)
    for n, (product_id, cosine) in enumerate(semantic, 1):
        semantic_rank[product_id] = n
        if cosine >= SEMANTIC_FLOOR:
            scores[product_id] = scores.get(product_id, 0.0) + 1 / (RRF_K + n)
    named = types.named_by(query.q)
    wanted = named.products if named else frozenset()

    def order(product_id: str) -> tuple[int, bool, float, str]:
        guarded = bool(wanted) and product_id not in wanted
        return (first.get(product_id, len(first)), guarded, -scores[product_id], product_id)

    ranked = sorted(scores, key=order)
    hits = [
        Hit(
            i,
            round(scores[i], 6),
            lexical_rank.get(i),
            semantic_rank.get(i),
            None if i not in similarity else round(similarity[i], 4),
        )
        for i in ranked
    ]
    named_found = named if any(h.product_id in wanted for h in hits) else None
    match: Match = (
        "matched" if first else verdict(query.q, types, named_found, lexical, semantic, candidates)
    )
    if match == "none":
        by_similarity = sorted(semantic, key=lambda s: -s[1])[:NEAREST]
        nearest = [Hit(i, 0.0, lexical_rank.get(i), semantic_rank.get(i), round(s, 4))
                   for i, s in by_similarity]  # fmt: skip
        if not nearest:
            nearest = hits[:NEAREST]
        return Result([], 0, match, named.types if named else (), nearest)
    if query.sort != "relevance" and not first:
        kept = [h for h in hits if not wanted or h.product_id in wanted]
        hits = _sorted(kept or hits, query.sort, candidates)
    page = hits[query.offset : query.offset + query.limit]
    return Result(page, len(hits), match, named.types if named else ())


def verdict(
    q: str,
    types: ProductTypes,
    named: Named | None,
    lexical: list[tuple[str, bool, float]],
    semantic: list[tuple[str, float]],
    candidates: Mapping[str, Candidate],
) -> Match:
    """Does the shop carry what `q` asks for?

    - "matched": the query names a kind of product the catalog has and its other words
      are borne out by products of that kind when the catalog knows them at all
      ("running shoes"; not "ice cream": "ice" is a word of the catalog, but of no
      cream it sells), or one product's name,
      type and brand hold all its words, or a product's name is within a typo of it;
    - "related": none of that, but a product is close in meaning (cosine similarity at
      least `RELATED_SIMILARITY`, `RELATED_QUALIFIED` when the query names a kind with a
      qualifier none of its products has: "motorcycle helmet" is not a bike helmet);
    - "none" otherwise.
    `named` is the kind the query names when products of it were found. A word found
    only in descriptions does not count: "refrigerator" is not carried because a jar
    says "refrigerate after opening". The thresholds were chosen on the judged set's dev
    split (ADR 24)."""
    if named is not None and not named.unknown:
        return "matched"
    if any(trigram >= TYPO_MATCH for _, _, trigram in lexical):
        return "matched"
    wanted = [w for w in words(q) if not types.qualifies(w)]
    if wanted and any(
        all(_known(w, text) for w in wanted)
        for text in (_words_of(candidates[i], types) for i, _, _ in lexical if i in candidates)
    ):
        return "matched"
    best = max((s for _, s in semantic), default=0.0)
    floor = RELATED_SIMILARITY if named is None else RELATED_QUALIFIED
    return "related" if best >= floor else "none"


def _words_of(candidate: Candidate, types: ProductTypes) -> frozenset[str]:
    return frozenset(
        words(f"{candidate.name} {candidate.brand} {types.type_of.get(candidate.product_id, '')}")
    )


def _sorted(hits: Iterable[Hit], sort: Sort, candidates: Mapping[str, Candidate]) -> list[Hit]:
    def key(hit: Hit) -> tuple[Any, ...]:
        c = candidates[hit.product_id]
        if sort == "price_asc":
            return (c.min_price_cents, c.name)
        if sort == "price_desc":
            return (-c.max_price_cents, c.name)
        return (c.name,)

    return sorted(hits, key=key)


def nearest_categories(result: Result, category_of: Mapping[str, str]) -> list[str]:
    """The departments of the nearest products, most frequent first."""
    counts: dict[str, int] = {}
    for hit in result.nearest:
        category = category_of.get(hit.product_id)
        if category:
            counts[category] = counts.get(category, 0) + 1
    return sorted(counts, key=lambda c: -counts[c])
