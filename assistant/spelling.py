"""Typo correction before a message is read: misspelled words are put right against the
words the shop knows (its catalog's product names, brands, kinds and departments, and the
words the assistant's intents turn on), never against a general dictionary.

A word is left as typed when it is a word the shop knows, a correctly spelled English word
(the English frequency list that ships with symspellpy), shorter than four letters,
written in capitals ("AA", "SAVE"), or touching a digit ("8pk", "SAVE10"): brand names,
sizes, codes and numbers stay as they are. Anything else is replaced by the closest word
the shop knows (SymSpell lookup, Damerau distance 1, or 2 for words of eight letters or
more); when several are as close, the one with the same letters (a swap: "cancle" ->
"cancel", "candel" -> "candle") wins, then the most common. "usbc" and "tshirt" read as
the catalog's "usb-c" and "t-shirt".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Protocol, runtime_checkable

from symspellpy import SymSpell, Verbosity

from assistant.llm.offline import (
    COLOURS,
    FILLER,
    INFORMAL,
    KEYWORDS,
    NUMBER_WORDS,
    PLACES,
    SIZES,
    VAGUE,
)

# the words a request turns on: kept as typed, and what their misspellings are put right to
INTENT_WORDS = frozenset({
    *KEYWORDS, "cancel", "cancellation", "return", "returns", "refund", "refunds", "refunded",
    "checkout", "check", "out", "remove", "delete", "order", "orders", "ordered", "cart",
    "basket", "empty", "clear", "status", "track", "tracking", "where", "shipping", "shipped",
    "ship", "deliver", "delivery", "delivered", "arrive", "arrived", "price", "prices", "cost",
    "costs", "total", "tax", "taxes", "coupon", "promo", "promotion", "promotions", "discount",
    "discounts", "buy", "purchase", "purchases", "add", "change", "quantity", "charged",
    "charge", "charges", "receipt", "payment", "reorder", "again", "cheapest", "cheaper",
    "cheap", "budget", "under", "pack", "packs", "dozen", "pair", "pairs", "size", "sizes",
    "color", "colour", "instead", "replace", "swap", "want", "need", "please", "thanks",
    "much", "would", "could", "should", "something", "suggest", "suggestions", "ideas",
    "recommend", "gift", "present", "history", "account", "address", "money", "back",
    "everything", "items", "item", "approve", "confirm", "yes", "cancelled", "canceled",
})  # fmt: skip
PARSER_WORDS = frozenset(
    w
    for group in (FILLER, VAGUE, PLACES, COLOURS, set(SIZES), set(NUMBER_WORDS), set(INFORMAL))
    for w in group
)
WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
MIN_LENGTH = 4
INTENT_WEIGHT = 1_000_000  # an intent word outweighs any count of catalog names


@cache
def english() -> frozenset[str]:
    """Correctly spelled English words (symspellpy's 82,765-word frequency list)."""
    text = (
        resources.files("symspellpy")
        .joinpath("frequency_dictionary_en_82_765.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


def catalog_words(phrases: Iterable[str]) -> Counter[str]:
    """How many of these names (product names, brands, kinds, departments) hold each word;
    a hyphenated word is counted whole too ("usb-c")."""
    counts: Counter[str] = Counter()
    for phrase in phrases:
        seen = set(re.findall(r"[a-z]+", phrase.lower()))
        seen |= set(re.findall(r"[a-z]+(?:-[a-z]+)+", phrase.lower()))
        counts.update(seen)
    return counts


def _left_out(typed: str, word: str) -> bool:
    """`typed` is `word` with letters left out (the commonest typo: "chargr", "refnd")."""
    letters = iter(word)
    return all(c in letters for c in typed)


@runtime_checkable
class Vocabulary(Protocol):
    """A shop that can name the words of its catalog (product names, brands, kinds and
    departments) with how many products use each."""

    async def vocabulary(self) -> Mapping[str, int]: ...


_spellers: dict[int, tuple[Mapping[str, int], Speller]] = {}


async def speller_for(shop: object) -> Speller:
    """The speller for this shop's catalog (built once per vocabulary the shop hands out),
    or the intents' speller for a shop that cannot name its words."""
    if not isinstance(shop, Vocabulary):
        return intent_speller()
    words = await shop.vocabulary()
    kept = _spellers.get(id(words))
    if kept is not None and kept[0] is words:
        return kept[1]
    speller = Speller(words)
    if len(_spellers) >= 4:
        _spellers.clear()
    _spellers[id(words)] = (words, speller)
    return speller


@dataclass(frozen=True)
class Correction:
    text: str
    changes: tuple[tuple[str, str], ...] = ()


class Speller:
    """Puts misspelled words right against the shop's words (see the module)."""

    def __init__(self, catalog: Mapping[str, int]) -> None:
        counts: dict[str, int] = {}
        self.joined: dict[str, str] = {}  # "usbc" -> "usb-c"
        for word, count in catalog.items():
            if "-" in word:
                self.joined.setdefault(word.replace("-", ""), word)
                continue
            if len(word) >= 3 and word.isalpha():
                counts[word] = counts.get(word, 0) + max(1, count)
        for word in INTENT_WORDS:
            counts[word] = counts.get(word, 0) + INTENT_WEIGHT
        self.known = frozenset(counts) | PARSER_WORDS | english()
        self.counts = counts
        self.symspell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in counts.items():
            self.symspell.create_dictionary_entry(word, count)

    def word(self, word: str) -> str | None:
        """What `word` (lower case) should read, or None to keep it."""
        for ending in ("", "s"):
            stem = word[: len(word) - len(ending)]
            if ending == word[len(stem) :] and stem in self.joined and word not in self.counts:
                return self.joined[stem] + ending
        if len(word) < MIN_LENGTH or word in self.known or "'" in word:
            return None
        distance = 2 if len(word) >= 8 else 1
        found = self.symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=distance)
        if not found:
            return None
        letters = sorted(word)
        best = min(
            found,
            key=lambda s: (
                sorted(s.term) != letters,
                not _left_out(word, s.term),
                -s.count,
                s.term,
            ),
        )
        return str(best.term)

    def correct(self, text: str) -> Correction:
        changes: list[tuple[str, str]] = []

        def fix(match: re.Match[str]) -> str:
            typed = match.group(0)
            start, end = match.span()
            touching = text[max(0, start - 1) : start] + text[end : end + 1]
            if any(c.isdigit() for c in touching) or (typed.isupper() and len(typed) > 1):
                return typed
            if any(c.isupper() for c in typed[1:]):  # "iPhone", "AirPods": a name as written
                return typed
            fixed = self.word(typed.lower())
            if fixed is None or fixed == typed.lower():
                return typed
            changes.append((typed, fixed))
            return fixed.capitalize() if typed[0].isupper() else fixed

        corrected = WORD.sub(fix, text)
        return Correction(corrected, tuple(changes))


@cache
def intent_speller() -> Speller:
    """A speller that knows only the intents' words (no catalog at hand)."""
    return Speller({})
