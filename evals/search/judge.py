"""Relevance of product search: judged queries, their graded labels and the figures.

A judged query (`evals/search/queries.jsonl`, one JSON object a line) does not list
products: it states a rule, and the labels follow from the catalog's product types and
attributes (ADR 24), so they stay right when the generated catalog changes:

- `types`: product types that are what was asked for (grade 2);
- `names`: noun phrases that are what was asked for: a product whose name contains one
  (words in order, plurals folded: "lawn mower") is grade 2, whatever its type;
- `related`: types that are acceptable substitutes (grade 1);
- `attributes`: attribute values the query asks for (`{"color": "black"}`); a product of
  a wanted type without them (on the product or on any of its variants) gets grade 1;
- `product`: a product id asked for by name: that product is grade 2 and the other
  products of its type grade 1 (`types` is then ignored);
- `absent`: the shop does not carry it (no product is relevant; the right answer is
  the search's "none" verdict).

Figures, per split and kind: nDCG@10 (gains 2^grade - 1, the ideal ranking from every
product's label) and recall@50 (graded ≥ 1 products in the first 50, over
min(relevant, 50)) over queries for things the shop carries; the share of absent-item
queries answered "none" (`none_when_absent`, the no-match precision of issue 16), the
share of "none" answers that were right (`none_precision`) and the share of present-item
queries wrongly answered "none" (`none_when_present`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from commerce.catalog.search import words

QUERIES = Path(__file__).parent / "queries.jsonl"
THRESHOLDS = Path(__file__).parent / "thresholds.json"
Split = Literal["dev", "test"]


@dataclass(frozen=True, slots=True)
class Judged:
    id: str
    q: str
    kind: str  # name, type, attribute, typo, synonym, descriptive, absent
    split: Split
    types: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    attributes: Mapping[str, str] = field(default_factory=dict)
    product: str | None = None
    absent: bool = False

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Judged:
        return cls(
            id=str(row["id"]), q=str(row["q"]), kind=str(row["kind"]), split=row["split"],
            types=tuple(row.get("types", ())), names=tuple(row.get("names", ())),
            related=tuple(row.get("related", ())),
            attributes=dict(row.get("attributes", {})), product=row.get("product"),
            absent=bool(row.get("absent", False)),
        )  # fmt: skip

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "q": self.q, "kind": self.kind, "split": self.split}
        if self.product:
            out["product"] = self.product
        if self.types:
            out["types"] = list(self.types)
        if self.names:
            out["names"] = list(self.names)
        if self.related:
            out["related"] = list(self.related)
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        if self.absent:
            out["absent"] = True
        return out


@dataclass(frozen=True, slots=True)
class Product:
    """What labelling needs of a product: its type and every attribute value it offers
    (its own and its variants')."""

    product_id: str
    product_type: str
    values: Mapping[str, frozenset[str]]
    name: str = ""


def load(path: Path = QUERIES) -> list[Judged]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Judged.of(json.loads(line)) for line in lines if line.strip()]


def labels(query: Judged, products: Iterable[Product]) -> dict[str, int]:
    """Grade (1 or 2) of every relevant product; products not listed are grade 0."""
    if query.absent:
        return {}
    found: dict[str, int] = {}
    if query.product:
        kind = next((p.product_type for p in products if p.product_id == query.product), None)
        for p in products:
            if p.product_id == query.product:
                found[p.product_id] = 2
            elif kind is not None and p.product_type == kind:
                found[p.product_id] = 1
        return found
    wanted, related = set(query.types), set(query.related)
    phrases = [words(n) for n in query.names]
    for p in products:
        named = any(_contains(words(p.name), phrase) for phrase in phrases)
        if p.product_type in wanted or named:
            has = all(
                v.lower() in {x.lower() for x in p.values.get(k, frozenset())}
                for k, v in query.attributes.items()
            )
            found[p.product_id] = 2 if has else 1
        elif p.product_type in related:
            found[p.product_id] = 1
    return found


def _contains(name: list[str], phrase: list[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(name[i : i + n] == phrase for i in range(len(name) - n + 1))


def ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = 10) -> float:
    gains: list[float] = [2.0 ** grades.get(i, 0) - 1 for i in ranked[:k]]
    ideal: list[float] = sorted((2.0**g - 1 for g in grades.values()), reverse=True)[:k]
    best = sum(g / math.log2(n + 2) for n, g in enumerate(ideal))
    if best == 0:
        return 0.0
    return float(sum(g / math.log2(n + 2) for n, g in enumerate(gains)) / best)


def recall(ranked: Sequence[str], grades: Mapping[str, int], k: int = 50) -> float:
    relevant = {i for i, g in grades.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / min(len(relevant), k)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a search answered: product ids best first and its verdict."""

    ranked: list[str]
    match: str  # matched, related, none


@dataclass(slots=True)
class Figures:
    queries: int = 0
    ndcg10: float = 0.0
    recall50: float = 0.0
    none_when_absent: float = 0.0
    none_precision: float = 0.0
    none_when_present: float = 0.0
    present: int = 0
    absent: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "queries": self.queries, "present": self.present, "absent": self.absent,
            "ndcg@10": round(self.ndcg10, 4), "recall@50": round(self.recall50, 4),
            "none_when_absent": round(self.none_when_absent, 4),
            "none_precision": round(self.none_precision, 4),
            "none_when_present": round(self.none_when_present, 4),
        }  # fmt: skip


def score(
    judged: Sequence[Judged], answers: Mapping[str, Answer], products: Sequence[Product]
) -> Figures:
    """The figures of one set of answers (a product answered "none" scores 0 on nDCG and
    recall: it found nothing)."""
    out = Figures(queries=len(judged))
    ndcgs, recalls = [], []
    absent_none = present_none = 0
    for query in judged:
        answer = answers[query.id]
        if query.absent:
            out.absent += 1
            absent_none += answer.match == "none"
            continue
        out.present += 1
        present_none += answer.match == "none"
        grades = labels(query, products)
        ranked = [] if answer.match == "none" else answer.ranked
        ndcgs.append(ndcg(ranked, grades))
        recalls.append(recall(ranked, grades))
    out.ndcg10 = sum(ndcgs) / len(ndcgs) if ndcgs else 0.0
    out.recall50 = sum(recalls) / len(recalls) if recalls else 0.0
    out.none_when_absent = absent_none / out.absent if out.absent else 0.0
    out.none_when_present = present_none / out.present if out.present else 0.0
    nones = absent_none + present_none
    out.none_precision = absent_none / nones if nones else 0.0
    return out
