"""Write the judged query set (evals/search/queries.jsonl) from the seeded catalog.

    uv run python -m evals.search.make_queries          # rewrites queries.jsonl

Deterministic (seeded, and the catalog generator is too). Kinds of query:

- `name`: a product's full name (grade 2: that product; 1: its type);
- `type`: a noun a shop uses for a kind of product ("wireless earbuds", "lawn mower"),
  singular or plural (grade 2: products whose name contains it);
- `attribute`: an attribute value and a noun ("black hoodie", "24 oz ground coffee"):
  grade 2 needs the value, grade 1 without;
- `typo`: a `type` query with one typo (two letters swapped, one dropped or doubled);
- `synonym`, `descriptive`, `absent`: written by hand below and checked here against the
  catalog (a synonym's or need's products must exist; an absent thing must not name any
  product: no product name contains all its words).

A query's split (dev 70 % / test 30 %) follows a hash of its id. Labels come from the
rules in `evals/search/judge.py`.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from collections import defaultdict
from typing import Any

from commerce.catalog.search import words
from commerce.platform.db import Database
from evals.search.judge import QUERIES, Judged, Product, labels

SEED = 16
Rule = dict[str, Any]

# Words people use for things the catalog names otherwise.
SYNONYMS: dict[str, Rule] = {
    "trainers": {"types": ["running shoes", "sneakers"]},
    "tee shirt": {"types": ["t-shirt"]},
    "earphones": {"types": ["earbuds", "headphones"]},
    "cell phone cover": {"types": ["phone case"]},
    "battery pack for phone": {"types": ["power bank"]},
    "kindle": {"types": ["e-reader"]},
    "television": {"types": ["tv"]},
    "laptop bag": {"names": ["Laptop Sleeve", "Laptop Backpack"]},
    "nappies": {"types": ["diapers"]},
    "dummy for baby": {"names": ["Pacifiers"]},
    "bin bags": {"types": ["trash bags"]},
    "trash can liners": {"types": ["trash bags"]},
    "washing up liquid": {"names": ["Dish Soap", "Dishwashing Liquid"]},
    "kitchen roll": {"types": ["paper towels"]},
    "loo roll": {"types": ["toilet paper"]},
    "washing powder": {"types": ["laundry detergent"]},
    "cookie sheet": {"names": ["Sheet Pan"]},
    "skillet": {"names": ["Cast Iron Skillet", "Nonstick Frying Pan"]},
    "couch": {"names": ["Sofa", "Futon"]},
    "chest of drawers": {"names": ["Dresser"]},
    "jumper": {"names": ["Sweater", "Cardigan"]},
    "trousers": {"names": ["Chinos", "Cargo Pants", "Jeans", "Sweatpants", "Joggers"]},
    "wellies": {"names": ["Rain Boots"]},
    "gumboots": {"names": ["Rain Boots"]},
    "workout mat": {"types": ["yoga mat"]},
    "weights": {"types": ["dumbbells"]},
    "cycle helmet": {"names": ["Bike Helmet"]},
    "torch": {"types": ["flashlight"]},
    "sleeping mat": {"names": ["Sleeping Pad"]},
    "rucksack": {"types": ["backpack"], "names": ["Backpack"]},
    "soft toy": {"names": ["Plush Bear", "Stuffed Animal"]},
    "teddy bear": {"names": ["Plush Bear"]},
    "hosepipe": {"names": ["Garden Hose"]},
    "secateurs": {"names": ["Pruning Shears"]},
    "spanner": {"names": ["Wrench Set"]},
    "measuring tape": {"names": ["Tape Measure"]},
    "allen keys": {"names": ["Hex Key Set"]},
    "engine oil": {"names": ["Motor Oil"]},
    "paracetamol": {"names": ["Acetaminophen Caplets"]},
    "plasters": {"names": ["Adhesive Bandages"]},
    "band aids": {"names": ["Adhesive Bandages"]},
    "fizzy water": {"names": ["Sparkling Water"]},
    "soda water": {"names": ["Sparkling Water"]},
    "crisps": {"names": ["Potato Chips", "Tortilla Chips"]},
    "porridge oats": {"types": ["oatmeal"]},
    "cell phone charger": {"types": ["phone charger"]},
    "notepad": {"types": ["notebook"]},
    "biro": {"names": ["Ballpoint Pens"]},
    "post-it notes": {"names": ["Sticky Notes"]},
    "quilt": {"names": ["Comforter", "Duvet Cover"]},
    "hoover": {"names": ["Vacuum Cleaner", "Robot Vacuum", "Cordless Stick Vacuum"]},
}
# Needs described without naming the product.
DESCRIPTIVE: dict[str, Rule] = {
    "something to keep coffee hot": {"types": ["travel mug", "thermos"]},
    "keep my drinks cold on a hike": {"types": ["water bottle", "thermos"], "related": ["travel mug"]},
    "something to carry my laptop": {"names": ["Laptop Sleeve", "Laptop Backpack"], "related": ["backpack"]},
    "protect my phone screen": {"types": ["screen protector"], "related": ["phone case"]},
    "charge my phone on the go": {"types": ["power bank"], "related": ["phone charger"]},
    "listen to music without wires": {"types": ["earbuds", "headphones"], "related": ["speaker"]},
    "play music at a party": {"types": ["speaker"]},
    "read books on a screen": {"types": ["e-reader"], "related": ["tablet"]},
    "see in the dark when camping": {"types": ["flashlight"], "names": ["Camping Lantern", "Headlamp"]},
    "sleep outside under the stars": {"types": ["sleeping bag", "tent"]},
    "something for a headache": {"types": ["pain relief"]},
    "help me fall asleep": {"names": ["Sleep Aid", "Melatonin"]},
    "medicine for a runny nose": {"types": ["cold and allergy"]},
    "clean the kitchen counter": {"types": ["surface cleaner"], "related": ["cleaning tools", "sponges"]},
    "wash my clothes": {"types": ["laundry detergent"], "related": ["laundry supplies"]},
    "wash dishes by hand": {"types": ["dish soap", "sponges"]},
    "make coffee at home": {"types": ["coffee tools"], "names": ["Coffee Maker"],
                            "related": ["ground coffee", "coffee beans", "coffee pods"]},
    "grind coffee beans": {"names": ["Burr Grinder"]},
    "boil water quickly": {"names": ["Electric Kettle"]},
    "fry chips without oil": {"names": ["Air Fryer"]},
    "something to chop vegetables": {"names": ["Chef's Knife", "Cutting Board", "Knife Set"]},
    "keep leftovers fresh": {"types": ["food storage"], "names": ["Freezer Bags", "Plastic Wrap"]},
    "a comfortable seat for my desk": {"names": ["Office Chair"]},
    "work standing up": {"names": ["Standing Desk"]},
    "light for reading in bed": {"names": ["Bedside Lamp", "Night Light", "Clamp Lamp"],
                                 "related": ["desk lamp", "lamp"]},
    "keep warm in winter": {"names": ["Winter Coat", "Puffer Jacket", "Beanie", "Gloves", "Scarf",
                                      "Space Heater", "Wool Socks"]},
    "stay dry in the rain": {"names": ["Rain Jacket", "Umbrella", "Rain Boots"]},
    "gear for going running": {"types": ["running shoes"], "names": ["Running Socks", "Sport Earbuds"]},
    "work out at home": {"types": ["dumbbells", "yoga mat", "fitness gear"]},
    "play tennis": {"names": ["Tennis Racket", "Tennis Balls"]},
    "feed my dog": {"types": ["dog food"], "related": ["dog treats"]},
    "my cat needs a toilet": {"types": ["cat litter"]},
    "walk the dog": {"names": ["Dog Leash", "Dog Collar", "Poop Bags"]},
    "change a baby": {"types": ["diapers", "baby wipes"]},
    "keep the baby safe in the car": {"names": ["Car Seat"]},
    "water the plants": {"names": ["Watering Can", "Garden Hose", "Hose Nozzle"]},
    "grow tomatoes": {"names": ["Vegetable Seeds", "Potting Soil", "Plant Food", "Raised Garden Bed", "Planter"]},
    "hang a picture on the wall": {"names": ["Picture Hanging Kit", "Hammer", "Command Hooks", "Wall Anchors"]},
    "drill holes in a wall": {"names": ["Cordless Drill", "Drill Bit Set"]},
    "my car battery is flat": {"names": ["Jump Starter", "Jumper Cables"]},
    "clean my car": {"types": ["car care"]},
    "record the road while driving": {"names": ["Dash Cam"]},
    "games for a family night": {"types": ["board game"]},
    "keep kids busy on a rainy day": {"types": ["puzzle", "board game", "building toys", "toys"]},
    "take notes in class": {"types": ["notebook", "pens", "pencils"]},
    "mail a package": {"names": ["Padded Mailers", "Packing Tape"]},
    "shred old documents": {"names": ["Shredder"]},
    "vitamins for winter": {"types": ["vitamins"]},
    "check my temperature": {"names": ["Digital Thermometer"]},
    "cuts and scrapes": {"names": ["Adhesive Bandages", "First Aid Kit", "Antibiotic Ointment"]},
}  # fmt: skip
# Things a general store might be asked for that this catalog does not carry.
ABSENT: list[str] = [
    "grand piano", "electric guitar", "violin strings", "car tires", "motorcycle helmet",
    "kayak", "surfboard", "snowboard", "ski boots", "golf clubs", "treadmill",
    "rowing machine", "engagement ring", "gold necklace", "perfume", "lipstick", "mascara",
    "nail polish", "wedding dress", "tuxedo", "antibiotics prescription", "insulin",
    "hearing aid", "wheelchair", "aquarium", "fish tank", "hamster cage", "horse saddle",
    "chicken feed", "fresh salmon", "raw chicken breast", "lobster", "sourdough bread",
    "birthday cake", "frozen pizza", "ice cream", "dozen eggs", "whole milk",
    "cheddar cheese", "red wine", "beer", "cigarettes", "lottery ticket", "concert tickets",
    "washing machine", "refrigerator", "video game console", "graphics card",
    "gaming laptop", "inkjet printer", "sewing machine", "solar panels", "roof shingles",
    "wallpaper", "hot tub", "swimming pool", "trampoline", "electric scooter",
    "king size mattress", "christmas tree", "fireworks", "hunting rifle", "new smartphone",
]  # fmt: skip


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


def build(products: list[Product], nouns: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The judged queries; `nouns` maps each product type to the nouns its names use."""
    rng = random.Random(SEED)
    rows: list[dict[str, Any]] = []
    count: dict[str, int] = defaultdict(int)

    def add(kind: str, q: str, **rule: Any) -> bool:
        count[kind] += 1
        query_id = f"{kind}-{count[kind]:03d}"
        row = {"id": query_id, "q": q, "kind": kind, "split": split_of(query_id), **rule}
        if not rule.get("absent") and not labels(Judged.of(row), products):
            count[kind] -= 1
            return False  # nothing in the catalog is it: not a fair query
        rows.append(row)
        return True

    for p in rng.sample(products, 60):
        add("name", p.name, product=p.product_id)
    pairs = sorted({(kind, noun) for kind, ns in nouns.items() for noun in ns})
    chosen = rng.sample(pairs, min(90, len(pairs)))
    typed: list[tuple[str, str]] = []
    for kind, noun in chosen:
        q = noun.lower() if rng.random() < 0.6 else noun.lower().rstrip("s")
        if add("type", q, names=[noun]):
            typed.append((kind, noun))
    for _kind, noun in typed[:55]:
        parts = noun.lower().split()
        longest = max(range(len(parts)), key=lambda i: len(parts[i]))
        if len(parts[longest]) >= 5:
            parts[longest] = typo(parts[longest], rng)
            add("typo", " ".join(parts), names=[noun])
    with_values = [
        (p, key, value)
        for p in products
        for key, values in sorted(p.values.items())
        if key not in {"brand"} and len(values) >= 1
        for value in sorted(values)
        if 1 <= len(value) <= 20
    ]
    for p, key, value in rng.sample(with_values, len(with_values))[:400]:
        named = next(
            (n for n in nouns.get(p.product_type or "", []) if _in(words(n), words(p.name))),
            None,
        )
        if named is None or count["attribute"] >= 60:
            continue
        q = f"{value} {named}".lower()
        add("attribute", q, names=[named], attributes={key: value})
    for q, rule in SYNONYMS.items():
        assert add("synonym", q, **rule), q
    for q, rule in DESCRIPTIVE.items():
        assert add("descriptive", q, **rule), q
    for q in ABSENT:
        wanted = words(q)
        clash = [p.name for p in products if _in_any(wanted, words(p.name))]
        assert not clash, (q, clash[:3])
        add("absent", q, absent=True)
    return rows


def _in(phrase: list[str], name: list[str]) -> bool:
    n = len(phrase)
    return any(name[i : i + n] == phrase for i in range(len(name) - n + 1))


def _in_any(query: list[str], name: list[str]) -> bool:
    return all(w in name for w in query)


def main() -> None:
    from commerce.catalog.kinds import KINDS
    from evals.search.run import catalog_products, with_seeded_catalog

    async def read(db: Database) -> list[Product]:
        return await catalog_products(db)

    products = with_seeded_catalog(read)
    nouns: dict[str, list[str]] = defaultdict(list)
    for kind in KINDS:
        nouns[kind.product_type] += [n for n in kind.nouns if n not in nouns[kind.product_type]]
    rows = build(products, nouns)
    QUERIES.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[f"{r['kind']}/{r['split']}"] += 1
    sys.stdout.write(f"{len(rows)} queries: {dict(sorted(counts.items()))}\n")


if __name__ == "__main__":
    main()
