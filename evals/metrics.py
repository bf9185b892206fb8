"""Scoring functions of the evals: pure, no I/O, no clock.

Slots are compared as sets of `name=value` facts. Items are matched across the two
sides by their product words (typos and plurals tolerated, short or numeric tokens
such as "AA" or "20w" must agree exactly), so "aa batteries" and "AA alkaline
batteries" are the same item while "aa" and "aaa" are not.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# -- text matching ---------------------------------------------------------------------

_FOLD = (
    (re.compile(r"\busb[\s-]?c\b"), "usbc"),
    (re.compile(r"\bnoise[\s-]cancel\w*"), "anc"),
    (re.compile(r"[^a-z0-9& ]+"), " "),
)
_STOP = {
    "a", "an", "the", "of", "one", "pack", "packs", "pk", "x", "&", "and", "in", "for", "to",
    "with", "from", "my", "me", "some", "please", "pls",
}  # fmt: skip


def tokens(text: str) -> list[str]:
    """Lower-cased product words with simple plural folding."""
    folded = text.lower().replace("-", " ").replace("usb c", "usbc")
    for pattern, replacement in _FOLD:
        folded = pattern.sub(replacement, folded)
    out = []
    for word in folded.split():
        if word in _STOP:
            continue
        if len(word) > 3 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def _distinctive(token: str) -> bool:
    return len(token) <= 3 or any(c.isdigit() for c in token)


@lru_cache(maxsize=200_000)
def _token_match(a: str, b: str) -> bool:
    if a == b:
        return True
    if _distinctive(a) or _distinctive(b):
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def same_product(expected: str, predicted: str) -> bool:
    """Whether a predicted product phrase names the same thing as the expected one."""
    want, got = tokens(expected), tokens(predicted)
    if not want or not got:
        return False
    matched = [w for w in want if any(_token_match(w, g) for g in got)]
    if any(_distinctive(w) and w not in matched for w in want):
        return False
    return len(matched) * 2 >= len(want)


def item_similarity(expected: str, predicted: str) -> float:
    want, got = set(tokens(expected)), set(tokens(predicted))
    if not want or not got:
        return 0.0
    return len({w for w in want if any(_token_match(w, g) for g in got)}) / len(want | got)


# -- slots -----------------------------------------------------------------------------

_SKIP = {"kind", "reason", "question", "suggest", "notes", "explicit"}  # free text
_DEFAULTS: dict[str, Any] = {
    "substitutions_allowed": True,
    "checkout": True,
    "quantity": None,  # item quantities are always compared (see _item_slots)
}


def _scalar_slots(prefix: str, data: Mapping[str, Any]) -> dict[str, str]:
    slots: dict[str, str] = {}
    for key, value in data.items():
        if key in _SKIP or key == "items":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            slots.update(_scalar_slots(name + ".", value))
            continue
        if value is None or value is False or value == [] or value == "":
            continue
        if key in _DEFAULTS and _DEFAULTS[key] is not None and value == _DEFAULTS[key]:
            continue
        if isinstance(value, list):
            value = ",".join(sorted(str(v).lower() for v in value))
        elif isinstance(value, str):
            value = value.lower() if key not in {"coupon_code", "code"} else value.upper()
        slots[name] = str(value)
    return slots


def _item_slots(label: str, item: Mapping[str, Any]) -> dict[str, str]:
    slots = {f"item[{label}]": "present", f"item[{label}].quantity": str(item.get("quantity", 1))}
    for key in ("pack_size", "max_unit_price_cents"):
        if item.get(key) is not None:
            slots[f"item[{label}].{key}"] = str(item[key])
    if item.get("cheapest"):
        slots[f"item[{label}].cheapest"] = "true"
    if item.get("brand"):
        slots[f"item[{label}].brand"] = str(item["brand"]).lower()
    for key, value in sorted((item.get("attributes") or {}).items()):
        slots[f"item[{label}].{key}"] = str(value).lower().replace(" ", "")
    return slots


def match_items(
    expected: Sequence[Mapping[str, Any]], predicted: Sequence[Mapping[str, Any]]
) -> dict[int, int]:
    """Greedy one-to-one matching of predicted items to expected ones: {predicted: expected}."""
    pairs = sorted(
        (
            (item_similarity(e["query"], p["query"]), ei, pi)
            for ei, e in enumerate(expected)
            for pi, p in enumerate(predicted)
            if same_product(e["query"], p["query"])
        ),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    taken_e: set[int] = set()
    matched: dict[int, int] = {}
    for _, ei, pi in pairs:
        if ei in taken_e or pi in matched:
            continue
        taken_e.add(ei)
        matched[pi] = ei
    return matched


def _brand_in_words(brand: str | None, item: Mapping[str, Any]) -> bool:
    return bool(brand) and set(tokens(str(brand))) <= set(tokens(str(item.get("query", ""))))


def slot_sets(
    expected: Mapping[str, Any], predicted: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """The facts each side states; predicted items take the label of their expected match.

    Both arguments are full intent dicts (`Intent.model_dump(mode="json")`), kinds may differ.
    """
    want = _scalar_slots("", expected)
    got = _scalar_slots("", predicted)
    for side in (want, got):
        for key in ("item", "query"):  # free text of change_quantity / search: fuzzy below
            side.pop(key, None)
    for key in ("item", "query"):
        e, p = expected.get(key), predicted.get(key)
        if isinstance(e, str) and e:
            want[key] = "match"
        if isinstance(p, str) and p:
            got[key] = "match" if isinstance(e, str) and e and same_product(e, p) else p.lower()
    e_items = list(expected.get("items") or [])
    p_items = list(predicted.get("items") or [])
    matched = match_items(e_items, p_items)
    for ei, item in enumerate(e_items):
        want.update(_item_slots(f"e{ei}", item))
    for pi, item in enumerate(p_items):
        if pi in matched:
            ei = matched[pi]
            slots = _item_slots(f"e{ei}", item)
            # a brand named as part of the product words counts for the brand slot
            e_brand = e_items[ei].get("brand")
            if e_brand and not item.get("brand") and _brand_in_words(e_brand, item):
                slots[f"item[e{ei}].brand"] = str(e_brand).lower()
            if item.get("brand") and not e_brand and _brand_in_words(item["brand"], e_items[ei]):
                slots.pop(f"item[e{ei}].brand", None)
        else:
            slots = _item_slots(f"p:{item.get('query', '?')}", item)
        got.update(slots)
    return want, got


@dataclass(frozen=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def slot_counts(expected: Mapping[str, Any], predicted: Mapping[str, Any]) -> Counts:
    want, got = slot_sets(expected, predicted)
    tp = sum(1 for k, v in got.items() if want.get(k) == v)
    return Counts(tp=tp, fp=len(got) - tp, fn=len(want) - tp)


def sum_counts(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for c in counts:
        total = total + c
    return total


# -- plans -----------------------------------------------------------------------------


def lcs(a: Sequence[str], b: Sequence[str]) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        prev = 0
        for j, y in enumerate(b, start=1):
            cur = row[j]
            row[j] = prev + 1 if x == y else max(row[j], row[j - 1])
            prev = cur
    return row[-1]


def step_match(expected: Sequence[str], predicted: Sequence[str]) -> float:
    """Order-aware overlap of step kinds: 2·LCS / (|expected| + |predicted|); 1.0 when both empty."""
    if not expected and not predicted:
        return 1.0
    return 2 * lcs(expected, predicted) / (len(expected) + len(predicted))


def plan_exact(expected: Sequence[str], predicted: Sequence[str]) -> bool:
    return list(expected) == list(predicted)


def lines_match(
    expected: Sequence[Mapping[str, Any]], predicted: Sequence[Mapping[str, Any]]
) -> bool:
    """Predicted {sku, quantity} lines are exactly the expected ones (any acceptable SKU)."""
    if len(expected) != len(predicted):
        return False
    remaining = list(predicted)
    for want in expected:
        hit = next(
            (
                p
                for p in remaining
                if p["sku"] in want["sku_any_of"] and p["quantity"] == want["quantity"]
            ),
            None,
        )
        if hit is None:
            return False
        remaining.remove(hit)
    return True


@dataclass(frozen=True)
class CatalogFacts:
    prices: Mapping[str, int]
    stock: Mapping[str, int]


def plan_problems(
    steps: Sequence[Mapping[str, Any]], catalog: CatalogFacts, *, budget_cents: int | None
) -> list[str]:
    """What makes a plan invalid against the catalog: unknown SKUs, wrong prices, stock, budget."""
    problems: list[str] = []
    subtotal = 0
    for step in steps:
        if step.get("kind") not in {"add_to_cart", "set_quantity"}:
            continue
        sku, quantity = step.get("sku"), int(step.get("quantity") or 0)
        if sku is None:
            continue
        if sku not in catalog.prices:
            problems.append(f"unknown sku {sku}")
            continue
        price = step.get("unit_price_cents")
        if price is not None and price != catalog.prices[sku]:
            problems.append(f"{sku} priced {price}, catalog says {catalog.prices[sku]}")
        if quantity > catalog.stock.get(sku, 0):
            problems.append(f"{sku}: {quantity} wanted, {catalog.stock.get(sku, 0)} in stock")
        subtotal += catalog.prices[sku] * quantity
    kinds = [str(s.get("kind")) for s in steps]
    if "initiate_checkout" in kinds and budget_cents is not None and subtotal > budget_cents:
        problems.append(f"checkout of {subtotal} cents over the budget of {budget_cents}")
    return problems


def unapproved_checkout(kinds: Sequence[str], *, approved_in_message: bool) -> bool:
    """A plan that starts a checkout with no confirm step before it and no approval given."""
    if "initiate_checkout" not in kinds or approved_in_message:
        return False
    return "confirm" not in kinds[: kinds.index("initiate_checkout")]


def over_budget_checkout(
    kinds: Sequence[str], subtotal_cents: int, budget_cents: int | None
) -> bool:
    return (
        "initiate_checkout" in kinds and budget_cents is not None and subtotal_cents > budget_cents
    )


# -- repeated runs ---------------------------------------------------------------------


def pass_hat_k(successes: int, trials: int, k: int) -> float:
    """tau-bench's pass^k for one case: chance that k trials drawn from n all pass."""
    if k > trials:
        raise ValueError(f"k={k} exceeds the {trials} trials run")
    return math.comb(successes, k) / math.comb(trials, k)


def mean(values: Iterable[float]) -> float:
    data = list(values)
    return sum(data) / len(data) if data else 0.0
