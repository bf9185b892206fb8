"""Write the judged query set (evals/search/queries.jsonl) from the catalog's generator.

    uv run python -m evals.search.make_queries          # rewrites queries.jsonl

Deterministic (seeded; the catalog generator is too). Kinds:

- `name`: a product's full name (grade 2: that product; 1: its type);
- `type`: a product type as a shopper writes it, plural or singular;
- `attribute`: an attribute value and a type ("black hoodie", "king size sheet set");
- `typo`: a type with one typo (two letters swapped, one dropped or doubled);
- `synonym`, `descriptive`, `absent`: written by hand below, checked against the catalog
  (a synonym's or need's types must exist; an absent thing must match no product type).

A query's split (dev 70 % / test 30 %) follows a hash of its id, so adding queries does
not move others. Labels come from the rules in `evals/search/judge.py`.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from evals.search.judge import QUERIES

SEED = 16

# Hand-written: words people use for a kind of product the catalog names otherwise.
SYNONYMS: dict[str, list[str]] = {}
# Hand-written: needs described without naming the product.
DESCRIPTIVE: dict[str, list[str]] = {}
# Hand-written: things a general store might be asked for that this catalog does not carry.
ABSENT: list[str] = []


def split_of(query_id: str) -> str:
    digest = hashlib.sha256(query_id.encode()).digest()
    return "test" if digest[0] % 10 < 3 else "dev"


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 2)
    how = rng.choice(["swap", "drop", "double"])
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def build(products: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in products:
        by_type[p["product_type"]].append(p)
    types = sorted(by_type)
    rows: list[dict[str, Any]] = []

    def add(kind: str, q: str, **rule: Any) -> None:
        query_id = f"{kind}-{len([r for r in rows if r['kind'] == kind]) + 1:03d}"
        rows.append({"id": query_id, "q": q, "kind": kind, "split": split_of(query_id), **rule})

    for p in rng.sample(products, 60):
        add("name", p["name"], product=p["product_id"])
    for kind in rng.sample(types, min(60, len(types))):
        add("type", kind if rng.random() < 0.5 else plural(kind), types=[kind])
    attributed = [
        (kind, key, value)
        for kind in types
        for key, value in sorted(common_values(by_type[kind]).items())
    ]
    for kind, key, value in rng.sample(attributed, min(60, len(attributed))):
        add("attribute", f"{value} {kind}", types=[kind], attributes={key: value})
    for kind in rng.sample(types, min(50, len(types))):
        words = kind.split()
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        if len(words[longest]) < 5:
            continue
        words[longest] = typo(words[longest], rng)
        add("typo", " ".join(words), types=[kind])
    known = set(types)
    for q, wanted in SYNONYMS.items():
        assert set(wanted) <= known, (q, set(wanted) - known)
        add("synonym", q, types=wanted)
    for q, wanted in DESCRIPTIVE.items():
        assert set(wanted) <= known, (q, set(wanted) - known)
        add("descriptive", q, types=wanted)
    for q in ABSENT:
        add("absent", q, absent=True)
    return rows


def plural(kind: str) -> str:
    if kind.endswith(("s", "x", "ch", "sh")):
        return kind if kind.endswith("s") else kind + "es"
    if kind.endswith("y") and kind[-2:-1] not in "aeiou":
        return kind[:-1] + "ies"
    return kind + "s"


def common_values(group: list[dict[str, Any]]) -> dict[str, str]:
    """One attribute value per attribute that some but not all products of a type have
    (colour, material, size…): a value that narrows the type."""
    values: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p in group:
        for source in [p["attributes"], *p["variant_attributes"]]:
            for k, v in source.items():
                values[k][str(v)] += 1
    out = {}
    for key, counts in sorted(values.items()):
        if len(counts) > 1:
            out[key] = sorted(counts, key=lambda v: (-counts[v], v))[0]
    return out


def main() -> None:
    from commerce.catalog.data import catalog_products

    products = [
        {
            "product_id": p.product_id, "name": p.name, "product_type": p.product_type,
            "attributes": p.attributes, "variant_attributes": [v.attributes for v in p.variants],
        }
        for p in catalog_products()
    ]  # fmt: skip
    rows = build(products)
    Path(QUERIES).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[f"{r['kind']}/{r['split']}"] += 1
    sys.stdout.write(f"{len(rows)} queries: {dict(sorted(counts.items()))}\n")


if __name__ == "__main__":
    main()
