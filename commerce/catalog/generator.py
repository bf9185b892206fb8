"""The generated part of the demo catalog: thousands of products over every department,
built from `commerce.catalog.kinds` by one seeded `random.Random`.

The same seed gives the same products, SKUs, prices, ratings and stock on every run and
Python version (string hashing never decides anything; every choice comes from the seeded
generator, iterating in the order the kinds are written). Product ids and SKUs are digests
of the product's name and variant options, so they do not move when kinds are added
elsewhere in the list. No network, no model: a few hundred milliseconds of pure Python.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from commerce.catalog.kinds import (
    ADULT_SIZES,
    BRANDS,
    DEPARTMENTS,
    KID_SIZES,
    KIDS_SHOES,
    KINDS,
    MENS_SHOES,
    WOMENS_SHOES,
    Kind,
)

if TYPE_CHECKING:
    from commerce.catalog.data import Product, Variant

MAX_VARIANTS = 12
GENDER = {"men's": "men", "women's": "women", "kids'": "kids", "boys'": "boys", "girls'": "girls"}
SIZE_SETS = {
    ("@shoe", "men"): MENS_SHOES,
    ("@shoe", "women"): WOMENS_SHOES,
    ("@shoe", "kids"): KIDS_SHOES,
    ("@clothes", "men"): ADULT_SIZES,
    ("@clothes", "women"): ADULT_SIZES,
    ("@clothes", "kids"): KID_SIZES,
}
QUANTITY = {"pack_count", "sheets", "loads", "pieces", "weight", "volume", "capacity", "storage"}
GRADED = {"length", "wattage", "screen_size", "size", "thickness"}
APPAREL = {"clothing", "shoes", "baby"}
UNITS = {"oz": 1.0, "lb": 16.0, "ml": 1 / 29.6, "l": 33.8, "qt": 32.0, "gallon": 128.0}
NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*([a-zA-Z]*)")
PLURALS = {"pack_count": "packs of", "capacity": "capacities of", "length": "lengths of"}
CLOSERS = (
    "Ships in recyclable packaging.",
    "Backed by a one-year warranty.",
    "A customer favourite.",
    "Free returns within 30 days.",
    "",
    "",
    "",
)
OPENERS = (
    "{owner} {line} {noun}: {fact}",
    "{fact} The {line} {noun} from {brand}.",
    "Meet the {line} {noun}. {fact}",
    "{fact}",
    "Our {line} {noun} by {brand}. {fact}",
    "{fact} From {owner} {line} range.",
    "{Line} {noun}, made by {brand}. {fact}",
    "Why shoppers pick {this} {noun}: {fact}",
    "{brand} makes {this} {noun} for people who want it simple. {fact}",
    "{fact} A dependable {noun} at a fair price.",
)


def _digest(text: str, size: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:size]


def _amount(option: str) -> float | None:
    match = NUMBER.search(option)
    if not match:
        return None
    return float(match.group(1)) * UNITS.get(match.group(2).lower(), 1.0)


def _factor(key: str, option: str, first: str, department: str) -> float:
    """How much more an option costs than the kind's first option of the same axis."""
    if key in QUANTITY or (key in GRADED and department not in APPAREL):
        now, base = _amount(option), _amount(first)
        if now is None or base is None or base <= 0:
            return 1.0
        return float((now / base) ** (0.8 if key in QUANTITY else 0.45))
    if key == "size" and option in ("XXL", "XL (16)"):
        return 1.1
    return 1.0


def _price(cents: float) -> int:
    """A shop price: whole dollars less one cent, at least 99 cents."""
    return max(99, round(cents / 100) * 100 - 1)


def _choose(rng: random.Random, key: str, options: Sequence[str]) -> list[str]:
    """The options of one axis a product comes in."""
    if len(options) == 1:
        return list(options)
    if key == "size":  # a run of sizes, most of the range
        low = rng.randint(0, max(0, len(options) // 4))
        high = rng.randint(len(options) - max(1, len(options) // 4), len(options))
        return list(options[low : max(high, low + 1)])
    if key == "color":
        return rng.sample(list(options), rng.choice((1, 1, 2, 3, 4)) if len(options) > 3 else 1)
    width = rng.choice((1, 2, 2, 3, 3, 4))
    start = rng.randint(0, max(0, len(options) - width))
    return list(options[start : start + width])


def _stock(rng: random.Random, price_cents: int) -> int:
    roll = rng.random()
    if roll < 0.06:
        return 0
    if roll < 0.17:
        return rng.randint(1, 5)
    top = 400 if price_cents < 2000 else 150 if price_cents < 10000 else 40
    return rng.randint(6, top)


def _rating(rng: random.Random) -> tuple[float | None, int]:
    reviews = int(rng.lognormvariate(3.0, 1.5))
    if reviews == 0:
        return None, 0
    rating = min(5.0, max(1.5, rng.gauss(4.3, 0.45 if reviews > 20 else 0.7)))
    return round(rating, 1), reviews


def _lower(words: str) -> str:
    """Words in running text: "Quick Dry" becomes "quick dry", "50L" and "USB-C" stay."""
    return " ".join(
        w if w.isupper() or any(c.isdigit() for c in w) else w.lower() for w in words.split()
    )


def _label(key: str, option: str) -> str:
    """An option as a variant's name shows it."""
    if key == "pack_count":
        return f"{option}-pack" if int(option) <= 12 else f"{option} count"
    return option


def _fixed(rng: random.Random, kind: Kind, text: str) -> dict[str, str]:
    """The product-level attributes; one the name's words already say is taken from them."""
    shown: dict[str, str] = {}
    lowered = f" {text.lower()} "
    for key, values in kind.fixed:
        said = [v for v in values if f" {v.lower()} " in lowered]
        shown[key.lstrip("+")] = max(said, key=len) if said else rng.choice(values)
    return shown


def _join(words: Iterable[str]) -> str:
    items = list(words)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _describe(
    rng: random.Random,
    kind: Kind,
    brand: str,
    line: str,
    noun: str,
    attributes: dict[str, str],
    axes: dict[str, list[str]],
) -> str:
    facts = rng.sample(list(kind.facts), min(len(kind.facts), rng.choice((1, 2, 2, 3))))
    opener = rng.choice(OPENERS).format(
        Line=line,
        this="these" if noun.endswith("s") and not noun.endswith("ss") else "this",
        brand=brand,
        owner=f"{brand}'" if brand.endswith("s") else f"{brand}'s",
        line=_lower(line),
        noun=_lower(noun),
        fact=facts[0] if facts else "",
    )
    parts = [
        opener.strip().replace(": " + facts[0], ": " + facts[0][0].lower() + facts[0][1:])
        if facts and ": " in opener
        else opener.strip(),
        *facts[1:],
    ]
    if "material" in attributes and rng.random() < 0.7:
        parts.append(f"Made of {attributes['material']}.")
    colours = axes.get("color", [])
    if len(colours) > 1:
        parts.append(f"Comes in {_join(colours)}.")
    sizes = axes.get("size", [])
    if len(sizes) > 2:
        parts.append(f"Sizes {sizes[0]} to {sizes[-1]}.")
    for key in ("pack_count", "capacity", "length", "wattage", "weight"):
        options = axes.get(key, [])
        if len(options) > 1 and rng.random() < 0.6:
            label = PLURALS.get(key, key.replace("_", " ") + "s of")
            parts.append(f"Choose {label} {_join(options)}.")
    closer = rng.choice(CLOSERS)
    if closer:
        parts.append(closer)
    return " ".join(p for p in parts if p)


def _name(
    rng: random.Random,
    brand: str,
    line: str,
    noun: str,
    named: dict[str, str],
    material: str | None,
) -> str:
    gender = named.get("gender")
    target = named.get("phone_model") or named.get("fits")
    words = [brand]
    if gender:
        words.append(gender)
    if line.lower() not in noun.lower():
        words.append(line)
    if material and material.lower() not in (line + noun).lower() and rng.random() < 0.45:
        words.append(material.title() if material.islower() else material)
    words.append(noun)
    name = " ".join(words)
    if target:
        name += f" for {target}"
    return name


def generate_products(seed: int, taken: set[str]) -> list[Product]:
    """The generated products; `taken` holds names already used (and gets these too)."""
    from commerce.catalog.data import Product, Variant

    rng = random.Random(seed)
    departments = {d.slug: d for d in DEPARTMENTS}
    products: list[Product] = []
    for kind in KINDS:
        department = departments[kind.department]
        made = attempts = 0
        while made < kind.count and attempts < kind.count * 8:
            attempts += 1
            brand = rng.choice(BRANDS[kind.department])
            line = rng.choice(kind.lines)
            noun = rng.choice(kind.nouns)
            shown = _fixed(rng, kind, f"{line} {noun}")
            named = {
                k.lstrip("+"): shown[k.lstrip("+")] for k, _ in kind.fixed if k.startswith("+")
            }
            attributes = {"line": _lower(line)} | {
                key: GENDER.get(value.lower(), value) if key == "gender" else value
                for key, value in shown.items()
            }
            name = _name(rng, brand, line, noun, named, attributes.get("material"))
            if name.lower() in taken:
                continue
            gender = attributes.get("gender", "")
            axes: dict[str, list[str]] = {}
            for key, options in kind.axes:
                if options[0].startswith("@"):
                    options = tuple(
                        SIZE_SETS.get((options[0], gender), SIZE_SETS[(options[0], "women")]).split(
                            ","
                        )
                    )
                axes[key] = _choose(rng, key, options)
            while _count(axes) > MAX_VARIANTS:
                widest = max(axes, key=lambda a: (len(axes[a]) if a != "size" else 0, a))
                axes[widest] = axes[widest][:-1]
            for key, chosen in axes.items():
                if len(chosen) == 1:
                    attributes[key] = chosen[0]
            colour_named = len(axes.get("color", [])) == 1 and rng.random() < 0.5
            if colour_named:
                name = f"{name}, {axes['color'][0]}"
                if name.lower() in taken:
                    continue
            taken.add(name.lower())
            low, high = kind.price
            base = rng.randrange(low, high + 1)
            firsts = {key: options[0] for key, options in kind.axes}
            whole_product_out = rng.random() < 0.04
            variants: list[Variant] = []
            for combo in _combinations(axes):
                factor = 1.0
                for key, option in combo:
                    factor *= _factor(key, option, firsts[key], kind.department)
                price = _price(base * factor)
                label = ", ".join(
                    _label(key, option)
                    for key, option in combo
                    if not (colour_named and key == "color")
                )
                sku = f"{department.code}-{_digest(name + '|' + label, 8).upper()}"
                variants.append(Variant(
                    sku, f"{name}, {label}" if label else name, price, dict(combo),
                    0 if whole_product_out else _stock(rng, price),
                ))  # fmt: skip
            rating, reviews = _rating(rng)
            products.append(Product(
                f"p-{_digest(name, 10)}", name, brand, kind.department,
                _describe(rng, kind, brand, line, noun, attributes, axes), department.tax_class,
                attributes, tuple(variants), kind.product_type, rating, reviews,
            ))  # fmt: skip
            made += 1
    return products


def _count(axes: dict[str, list[str]]) -> int:
    total = 1
    for options in axes.values():
        total *= len(options)
    return total


def _combinations(axes: dict[str, list[str]]) -> list[tuple[tuple[str, str], ...]]:
    combos: list[tuple[tuple[str, str], ...]] = [()]
    for key, options in axes.items():
        combos = [(*combo, (key, option)) for combo in combos for option in options]
    return combos
