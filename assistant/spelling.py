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

Before that, a shopper's word for a thing the catalog names otherwise is read as the
catalog's word, whenever the shopper's word is not the catalog's and the other is, all
decided against the catalog's own words: a clipped compound ("sci-fi", "scifi") is the
pair of catalog words its parts begin ("science fiction"), a hyphenated word the catalog
writes as one is written so ("non-stick" -> "nonstick"); British spelling is tried as
American and the other way round ("colour", "aluminium", "centre", "pyjamas"); the plural
of an abbreviation is the abbreviation ("AAs", "AAAs"); and a short table of the names
shoppers use for what a shop calls otherwise ("trainers", "torch", "nappies", "crisps")
gives the alternatives to try.
"""

from __future__ import annotations

import itertools
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
CLIPPED = re.compile(r"\b[A-Za-z]+(?:-[A-Za-z]+)?\b")
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
    a hyphenated word is counted whole too ("usb-c"), and two words in a row as a pair
    ("science fiction": what "sci-fi" is read against)."""
    counts: Counter[str] = Counter()
    for phrase in phrases:
        lowered = phrase.lower()
        seen = set(re.findall(r"[a-z]+", lowered))
        seen |= set(re.findall(r"[a-z]+(?:-[a-z]+)+", lowered))
        for part in re.split(r"[^a-z\s]+", lowered):
            run = part.split()
            seen |= {f"{a} {b}" for a, b in itertools.pairwise(run)}
        counts.update(seen)
    return counts


# what shoppers call things a shop may name otherwise (British, trade and everyday names),
# tried only when the shopper's word is not one of the catalog's and an alternative is
SHOPPER_NAMES: dict[str, tuple[str, ...]] = {
    "trainers": ("sneakers",), "trainer": ("sneaker",), "torch": ("flashlight",),
    "torches": ("flashlights",), "nappies": ("diapers",), "nappy": ("diaper",),
    "trousers": ("pants",), "crisps": ("chips",), "pram": ("stroller",),
    "pushchair": ("stroller",), "buggy": ("stroller",), "couch": ("sofa",),
    "settee": ("sofa",), "cellphone": ("phone",), "smartphone": ("phone",),
    "rubbish": ("trash",), "garbage": ("trash",), "earphones": ("earbuds",),
    "television": ("tv",), "telly": ("tv",), "kleenex": ("tissues",), "tissues": ("tissue",),
    "jumper": ("sweater",), "pullover": ("sweater",), "hoody": ("hoodie",),
    "hoodies": ("hoodie",), "tees": ("t-shirts", "tee"), "tshirts": ("t-shirts",),
    "sweatshirts": ("sweatshirt",), "joggers": ("sweatpants",), "biscuits": ("cookies",),
    "cookies": ("cookie",),
    "plaster": ("bandage",), "plasters": ("bandages",), "bandaids": ("bandages",),
    "bandaid": ("bandage",), "notepad": ("notebook",),
    "duvet": ("comforter",), "comforter": ("duvet",),
    "flashlight": ("torch",), "sneakers": ("trainers",), "diapers": ("nappies",),
    "sweater": ("jumper",), "stroller": ("pram",), "sofa": ("couch",), "chips": ("crisps",),
    "cookie": ("biscuit",), "pants": ("trousers",), "headphone": ("headphones",),
}  # fmt: skip
# British and American endings of one word, each tried both ways at the end of a word (or
# before a plural "s"), with at least `min` letters before it: "colour", "centre", "tyre"
SPELLINGS = (
    ("our", "or", 3), ("ise", "ize", 3), ("ised", "ized", 3), ("ising", "izing", 3),
    ("isation", "ization", 3), ("tre", "ter", 2), ("yre", "ire", 1), ("ium", "um", 4),
    ("ogue", "og", 4), ("grey", "gray", 0), ("yjama", "ajama", 1), ("eable", "able", 3),
)  # fmt: skip


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
        self.catalog = frozenset(w for w in catalog if " " not in w)
        # "science fiction" by its first letters, for reading clipped compounds
        self.pairs: dict[str, list[tuple[str, str, int]]] = {}
        for word, count in catalog.items():
            if " " in word:
                first, second = word.split(" ", 1)
                if len(first) >= 3 and len(second) >= 2 and first.isalpha() and second.isalpha():
                    self.pairs.setdefault(first[:2], []).append((first, second, count))
                continue
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

    def clipped(self, first: str, second: str) -> str | None:
        """The pair of catalog words two clipped parts begin ("sci", "fi" -> "science
        fiction"), when one pair is clearly the commonest; None when none or unsure."""
        if len(first) < 2 or len(second) < 2 or len(first) + len(second) < 5:
            return None
        found = sorted(
            (
                (count, a, b)
                for a, b, count in self.pairs.get(first[:2], [])
                if a.startswith(first) and b.startswith(second) and (a, b) != (first, second)
            ),
            reverse=True,
        )
        if not found or (len(found) > 1 and found[1][0] * 2 > found[0][0]):
            return None
        return f"{found[0][1]} {found[0][2]}"

    def shopper_word(self, word: str) -> str | None:
        """The catalog's word for a shopper's word it does not use (see the module)."""
        if word in self.catalog or not self.catalog or word in PARSER_WORDS:
            return None
        stem = word[:-1]
        if word.endswith("s") and 2 <= len(stem) <= 3 and stem == stem[0] * len(stem):
            return stem if stem in self.catalog else None  # "aas" -> "aa": an abbreviation's plural
        for other in SHOPPER_NAMES.get(word, ()):
            if other in self.catalog:
                return other
        for british, american, least in SPELLINGS:
            for a, b in ((british, american), (american, british)):
                plural = "s" if word.endswith(a + "s") else ""
                if not word.endswith(a + plural) or len(word) - len(a + plural) < least:
                    continue
                other = word[: len(word) - len(a + plural)] + b + plural
                if other in self.catalog:
                    return other
        return None

    def word(self, word: str) -> str | None:
        """What `word` (lower case) should read, or None to keep it."""
        if (other := self.shopper_word(word)) is not None:
            return other
        for ending in ("", "s"):
            stem = word[: len(word) - len(ending)]
            if ending == word[len(stem) :] and stem in self.joined and word not in self.counts:
                return self.joined[stem] + ending
        if len(word) < MIN_LENGTH or word in self.known or "'" in word:
            return None
        return self._typo(word)

    def _typo(self, word: str) -> str | None:
        """The closest word the shop knows within the edit distance allowed, or None."""
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

    def _unclip(self, text: str, changes: list[tuple[str, str]]) -> str:
        """ "sci-fi", "sci fi", "scifi": clipped words of a catalog pair, written in full."""
        out: list[str] = []
        at = 0
        tokens = list(CLIPPED.finditer(text))
        skip = -1
        for i, match in enumerate(tokens):
            if i <= skip:
                continue
            typed = match.group(0)
            lower = typed.lower()
            found = None
            if "-" in lower and lower not in self.catalog:
                first, second = lower.split("-", 1)
                joined = first + second
                found = joined if joined in self.catalog else self.clipped(first, second)
            elif (
                lower.isalpha()
                and lower not in self.known
                and 5 <= len(lower) <= 10
                and self._typo(lower) is None  # "cabel" is a misspelt "cable", not clipped
            ):
                for cut in range(2, len(lower) - 1):
                    if found := self.clipped(lower[:cut], lower[cut:]):
                        break
            if found is None and i + 1 < len(tokens) and lower.isalpha():
                after = tokens[i + 1]
                nxt = after.group(0).lower()
                if (
                    text[match.end() : after.start()] == " "
                    and nxt.isalpha()
                    and (lower not in self.known or nxt not in self.known)
                    and len(lower) <= 5
                    and len(nxt) <= 5
                    and (found := self.clipped(lower, nxt)) is not None
                ):
                    typed = text[match.start() : after.end()]
                    skip = i + 1
                    out.append(text[at : match.start()])
                    changes.append((typed, found))
                    out.append(found)
                    at = after.end()
                    continue
            if found is not None:
                out.append(text[at : match.start()])
                changes.append((typed, found))
                out.append(found)
                at = match.end()
        out.append(text[at:])
        return "".join(out)

    def correct(self, text: str) -> Correction:
        changes: list[tuple[str, str]] = []

        text = self._unclip(text, changes)

        def fix(match: re.Match[str]) -> str:
            typed = match.group(0)
            start, end = match.span()
            touching = text[max(0, start - 1) : start] + text[end : end + 1]
            if any(c.isdigit() for c in touching):
                return typed
            if re.fullmatch(r"[A-Z]{2,}s", typed) and typed[:-1].lower() in self.catalog:
                changes.append((typed, typed[:-1]))  # "AAs": the abbreviation's plural
                return typed[:-1]
            if typed.isupper() and len(typed) > 1:
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
