"""The demo catalog, generated deterministically from word lists written for this project.

`catalog_products()` returns the same products with the same SKUs on every run and
Python version (seeded `random.Random`s, stable iteration order). Inventory seeds its
stock from `catalog_skus()`; the catalog service seeds its tables from
`catalog_products()`. Three parts, in this order:

- staples listed by hand with readable SKUs (AA/AAA batteries in packs, USB-C cables,
  headphones, a charger, notebooks, coffee) that the README and examples use;
- the first demo catalog (642 products in ten departments, seed `SEED`), kept exactly as
  it was, SKUs, names, prices and stock, because the evaluation datasets point at it;
- the generated general store (`commerce.catalog.generator`, seed `GENERATED_SEED`):
  thousands of products over every department of `commerce.catalog.kinds.DEPARTMENTS`.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field, replace
from functools import cache

from commerce.catalog.generator import generate_products
from commerce.catalog.kinds import DEPARTMENTS

SEED = 20261124
GENERATED_SEED = 20261128

LEGACY_CATEGORIES = (
    "electronics",
    "home",
    "kitchen",
    "office",
    "outdoors",
    "toys",
    "beauty",
    "grocery",
    "clothing",
    "books",
)
CATEGORIES = tuple(d.slug for d in DEPARTMENTS)
"""Every department (a product's `category`), the first demo catalog's ten among them."""
TAX_CLASS = {"grocery": "reduced", "books": "reduced"}

BRANDS = {
    "electronics": ["Voltra", "Ampere & Co", "Lumen", "Northwire", "Kestrel Audio"],
    "home": ["Hearthly", "Nestwell", "Oakline", "Brightroom"],
    "kitchen": ["Copperleaf", "Saltmill", "Brisk", "Ovenbird"],
    "office": ["Papercraft", "Inkwell", "Deskmate", "Ledger & Line"],
    "outdoors": ["Trailhead", "Summitry", "Riverstone", "Campfire Co"],
    "toys": ["Brickles", "Wonderbox", "Tiny Giants", "Playfield"],
    "beauty": ["Petal & Pine", "Dewdrop", "Clearleaf", "Velvet Stone"],
    "grocery": ["Good Harvest", "Morning Mill", "Orchard Lane", "Pantry Co"],
    "clothing": ["Threadline", "Northfold", "Everwear", "Cobble & Knit"],
    "books": ["Lantern Press", "Foxglove Books", "Meridian House"],
}
NOUNS = {
    "electronics": ["Wireless Earbuds", "Over-Ear Headphones", "Bluetooth Speaker", "Power Bank", "Wall Charger",
                    "Smart Plug", "LED Desk Lamp", "Wireless Mouse", "Mechanical Keyboard", "HDMI Cable",
                    "Webcam", "USB Hub", "Phone Stand", "Smartwatch Band", "Fitness Tracker"],
    "home": ["Throw Blanket", "Scented Candle", "Bath Towel Set", "Storage Basket", "Picture Frame",
             "Doormat", "Table Lamp", "Pillow Cover", "Wall Clock", "Laundry Hamper"],
    "kitchen": ["Chef's Knife", "Cutting Board", "Nonstick Skillet", "French Press", "Mixing Bowl Set",
                "Measuring Cups", "Water Bottle", "Travel Mug", "Spice Grinder", "Baking Sheet", "Tea Kettle"],
    "office": ["Spiral Notebook", "Gel Pens", "Sticky Notes", "Desk Organizer", "Stapler", "Highlighters",
               "Paper Clips", "File Folders", "Planner", "Whiteboard Markers"],
    "outdoors": ["Camping Tent", "Sleeping Bag", "Hiking Backpack", "Headlamp", "Trekking Poles",
                 "Camp Stove", "Insulated Bottle", "Picnic Blanket", "Folding Chair", "Rain Poncho"],
    "toys": ["Building Blocks", "Jigsaw Puzzle", "Plush Bear", "Toy Car Set", "Board Game", "Art Kit",
             "Kite", "Yo-Yo", "Play Dough Set", "Marble Run"],
    "beauty": ["Face Moisturizer", "Lip Balm", "Shampoo", "Conditioner", "Hand Cream", "Sunscreen SPF 50",
               "Body Wash", "Face Mask", "Nail File Set", "Makeup Brushes"],
    "grocery": ["Ground Coffee", "Whole Bean Coffee", "Green Tea", "Rolled Oats", "Dark Chocolate",
                "Olive Oil", "Pasta", "Basmati Rice", "Honey", "Trail Mix", "Peanut Butter", "Sparkling Water"],
    "clothing": ["Cotton T-Shirt", "Hoodie", "Wool Socks", "Rain Jacket", "Baseball Cap", "Running Shorts",
                 "Flannel Shirt", "Beanie", "Leggings", "Denim Jeans"],
    "books": ["Cookbook", "Field Guide", "Mystery Novel", "Science Fiction Novel", "Travel Guide",
              "Poetry Collection", "History of Maps", "Gardening Handbook", "Children's Picture Book"],
}  # fmt: skip
ADJECTIVES = [
    "Classic",
    "Everyday",
    "Compact",
    "Premium",
    "Eco",
    "Pro",
    "Lite",
    "Deluxe",
    "Essential",
    "Signature",
]
COLOURS = ["black", "white", "grey", "blue", "green", "red"]
SIZES = ["S", "M", "L", "XL"]
PRICE_RANGE = {
    "electronics": (999, 14999), "home": (899, 7999), "kitchen": (599, 8999), "office": (199, 2999),
    "outdoors": (1299, 24999), "toys": (599, 5999), "beauty": (399, 3999), "grocery": (199, 2499),
    "clothing": (999, 8999), "books": (899, 3999),
}  # fmt: skip


@dataclass(frozen=True)
class Variant:
    sku: str
    name: str
    price_cents: int
    attributes: dict[str, str] = field(default_factory=dict)
    initial_stock: int = 100


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    brand: str
    category: str
    description: str
    tax_class: str
    attributes: dict[str, str]
    variants: tuple[Variant, ...]
    product_type: str = ""  # a normalized kind: "aa battery", "usb-c cable", "bath towel"
    rating: float | None = None  # average of the reviews, None without reviews
    review_count: int = 0


@dataclass(frozen=True)
class SeedSku:
    sku: str
    product_id: str
    name: str
    category: str
    price_cents: int
    initial_stock: int


def _id(prefix: str, text: str) -> str:
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def _staples() -> list[Product]:
    """Items the assistant's examples ask for, always present with readable SKUs."""
    products = []
    for cell, base in (("AA", 499), ("AAA", 449)):
        variants = tuple(
            Variant(
                f"BAT-{cell}-{n}",
                f"{cell} Alkaline Batteries, {n}-pack",
                base + (n - 4) * 110,
                {"pack_size": str(n)},
                400,
            )
            for n in (4, 8, 12)
        )
        products.append(Product(
            f"p-battery-{cell.lower()}", f"{cell} Alkaline Batteries", "Voltra", "electronics",
            f"Long-lasting {cell} alkaline batteries for remotes, toys and flashlights.", "standard",
            {"battery_size": cell, "chemistry": "alkaline"}, variants, f"{cell.lower()} battery",
        ))  # fmt: skip
    cable_variants = tuple(
        Variant(f"CBL-USBC-{length.upper().replace('.', '')}-{colour[:3].upper()}", f"USB-C Cable, {length}, {colour}",
                price, {"length": length, "color": colour}, 300)
        for length, price in (("1m", 799), ("2m", 999), ("3m", 1299))
        for colour in ("black", "white")
    )  # fmt: skip
    products.append(Product(
        "p-cable-usbc", "USB-C Cable", "Northwire", "electronics",
        "Braided USB-C to USB-C charging and data cable, 60 W.", "standard", {"connector": "USB-C"}, cable_variants, "usb-c cable",
    ))  # fmt: skip
    products.append(Product(
        "p-cable-lightning", "USB-C to Lightning Cable", "Northwire", "electronics",
        "USB-C to Lightning cable for fast charging.", "standard", {"connector": "Lightning"},
        (Variant("CBL-LTG-1M", "USB-C to Lightning Cable, 1m", 1499, {"length": "1m"}, 200),), "lightning cable",
    ))  # fmt: skip
    products.append(Product(
        "p-headphones-anc", "Noise Cancelling Headphones", "Kestrel Audio", "electronics",
        "Over-ear wireless headphones with active noise cancelling and 30-hour battery.", "standard",
        {"type": "over-ear", "wireless": "yes"},
        tuple(Variant(f"HP-ANC-{c[:3].upper()}", f"Noise Cancelling Headphones, {c}", 8999, {"color": c}, 50) for c in ("black", "silver")), "headphones",
    ))  # fmt: skip
    products.append(Product(
        "p-headphones-budget", "Wired Headphones", "Lumen", "electronics",
        "Lightweight wired on-ear headphones with an inline microphone.", "standard", {"type": "on-ear", "wireless": "no"},
        (Variant("HP-WIRED-BLK", "Wired Headphones, black", 1499, {"color": "black"}, 120),), "headphones",
    ))  # fmt: skip
    products.append(Product(
        "p-charger-20w", "USB-C Wall Charger 20W", "Ampere & Co", "electronics",
        "Compact 20 W USB-C power adapter for phones and tablets.", "standard", {"watts": "20"},
        (Variant("CHG-USBC-20W", "USB-C Wall Charger 20W", 1999, {"watts": "20"}, 150),), "phone charger",
    ))  # fmt: skip
    products.append(Product(
        "p-notebook-a5", "A5 Dotted Notebook", "Papercraft", "office",
        "Hardcover A5 notebook with 160 dotted pages.", "standard", {"paper": "dotted"},
        tuple(Variant(f"NB-A5-{c[:3].upper()}", f"A5 Dotted Notebook, {c}", 1299, {"color": c}, 200) for c in ("black", "blue", "green")), "notebook",
    ))  # fmt: skip
    products.append(Product(
        "p-coffee-house", "House Blend Ground Coffee", "Morning Mill", "grocery",
        "Medium roast ground coffee, 340 g.", "reduced", {"roast": "medium"},
        (Variant("COF-HOUSE-340", "House Blend Ground Coffee, 340 g", 1099, {"weight": "340g"}, 250),), "ground coffee",
    ))  # fmt: skip
    return products


@cache
def catalog_products() -> tuple[Product, ...]:
    rng = random.Random(SEED)
    products: list[Product] = []
    for category in LEGACY_CATEGORIES:
        low, high = PRICE_RANGE[category]
        for noun in NOUNS[category]:
            for brand, adjective in (
                (brand, adjective)
                for brand in BRANDS[category]
                for adjective in rng.sample(ADJECTIVES, 1 if rng.random() < 0.5 else 2)
            ):
                name = f"{brand} {adjective} {noun}"
                product_id = _id("p", name)
                base = rng.randrange(low, high, 100) - 1
                if category == "clothing":
                    colour = rng.choice(COLOURS)
                    variants = tuple(
                        Variant(_id("SKU", f"{name}/{colour}/{size}").upper(), f"{name}, {colour}, {size}", base,
                                {"color": colour, "size": size}, rng.randint(0, 60))
                        for size in SIZES
                    )  # fmt: skip
                elif (
                    category in ("electronics", "home", "kitchen", "outdoors")
                    and rng.random() < 0.4
                ):
                    colours = rng.sample(COLOURS, 2)
                    variants = tuple(
                        Variant(_id("SKU", f"{name}/{c}").upper(), f"{name}, {c}", base + i * 200, {"color": c}, rng.randint(0, 80))
                        for i, c in enumerate(colours)
                    )  # fmt: skip
                else:
                    variants = (
                        Variant(_id("SKU", name).upper(), name, base, {}, rng.randint(0, 150)),
                    )
                description = (
                    f"The {adjective.lower()} {noun.lower()} from {brand}: "
                    f"{rng.choice(['built to last', 'light and practical', 'a customer favourite', 'great value', 'thoughtfully designed'])}, "
                    f"{rng.choice(['easy to clean', 'ready for daily use', 'made with recycled materials', 'backed by a two-year warranty', 'gift ready'])}."
                )  # fmt: skip
                products.append(Product(
                    product_id, name, brand, category, description, TAX_CLASS.get(category, "standard"),
                    {"line": adjective.lower()}, variants, LEGACY_TYPES.get(noun, noun.lower()),
                ))  # fmt: skip
    products = [_best_seller(p) for p in _staples()] + [_reviewed(p) for p in products]
    taken = {p.name.lower() for p in products}
    products.extend(generate_products(GENERATED_SEED, taken))
    return tuple(products)


def _best_seller(product: Product) -> Product:
    """The staples are the store's best sellers (the items its examples and the assistant's
    first suggestions are about): thousands of reviews, well rated."""
    rng = random.Random(product.product_id)
    return replace(
        product, rating=round(rng.uniform(4.5, 4.8), 1), review_count=rng.randint(4500, 9000)
    )


def _reviewed(product: Product) -> Product:
    """A rating for a product of the first demo catalog, from its own seeded generator
    (the first catalog's generator is left exactly as it was)."""
    rng = random.Random(product.product_id)
    reviews = int(rng.lognormvariate(3.0, 1.5))
    rating = round(min(5.0, max(1.5, rng.gauss(4.3, 0.5))), 1) if reviews else None
    return replace(product, rating=rating, review_count=reviews)


LEGACY_TYPES = {
    "Wireless Earbuds": "earbuds", "Over-Ear Headphones": "headphones", "Bluetooth Speaker": "speaker",
    "Wall Charger": "phone charger", "LED Desk Lamp": "desk lamp", "Wireless Mouse": "mouse",
    "Mechanical Keyboard": "keyboard", "Smartwatch Band": "smartwatch band", "Bath Towel Set": "bath towel",
    "Chef's Knife": "kitchen knife", "Travel Mug": "travel mug", "Spiral Notebook": "notebook",
    "Gel Pens": "pens", "Camping Tent": "tent", "Insulated Bottle": "water bottle", "Water Bottle": "water bottle",
    "Jigsaw Puzzle": "puzzle", "Board Game": "board game", "Sunscreen SPF 50": "sunscreen",
    "Ground Coffee": "ground coffee", "Whole Bean Coffee": "coffee beans", "Green Tea": "green tea",
    "Cotton T-Shirt": "t-shirt", "Mystery Novel": "novel", "Science Fiction Novel": "novel",
    "Hoodie": "hoodie", "Rain Jacket": "jacket", "Denim Jeans": "pants", "Leggings": "pants",
    "Running Shorts": "pants", "Wool Socks": "socks", "HDMI Cable": "hdmi cable",
}  # fmt: skip
"""The product type of a first-catalog noun, where it is not the noun itself in lower case."""


def catalog_skus() -> list[SeedSku]:
    return [
        SeedSku(v.sku, p.product_id, v.name, p.category, v.price_cents, v.initial_stock)
        for p in catalog_products()
        for v in p.variants
    ]
