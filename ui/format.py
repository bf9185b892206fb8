"""Turning BFF answers into what a person reads: money, plan tables, saga steps."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# What each saga message means to the person buying. `undo` marks compensations.
STEPS: dict[str, tuple[str, bool]] = {
    "InitiateCheckoutCommand": ("Checkout requested", False),
    "ReserveInventory": ("Reserving the items in stock", False),
    "InventoryReserved": ("Items reserved", False),
    "InventoryReservationFailed": ("Not enough stock", False),
    "ProcessPayment": ("Charging the payment method", False),
    "PaymentProcessed": ("Payment captured", False),
    "PaymentFailed": ("Payment declined", False),
    "CreateOrder": ("Creating the order", False),
    "OrderCreated": ("Order created", False),
    "OrderCreationFailed": ("The order could not be created", False),
    "CommitInventory": ("Taking the items out of stock", False),
    "InventoryCommitted": ("Items taken out of stock", False),
    "ClearCart": ("Removing the bought items from the cart", False),
    "CartCleared": ("Cart updated", False),
    "CartClearanceFailed": ("The cart could not be updated", False),
    "CompensateInventory": ("Undo: releasing the reserved items", True),
    "InventoryReleased": ("Undone: reserved items released", True),
    "CompensatePayment": ("Undo: refunding the payment", True),
    "PaymentRefunded": ("Undone: payment refunded", True),
    "CheckoutCompleted": ("Checkout completed", False),
    "CheckoutFailed": ("Checkout failed", False),
}
TERMINAL = ("CheckoutCompleted", "CheckoutFailed")

# What a shopper reads of their order's progress, in their words; the other messages are
# the shop's own bookkeeping, shown only in the technical timeline behind a details fold.
PROGRESS: dict[str, str] = {
    "InitiateCheckoutCommand": "Order received",
    "InventoryReserved": "Items reserved",
    "InventoryReservationFailed": "Not enough stock",
    "PaymentProcessed": "Payment taken",
    "PaymentFailed": "Payment declined",
    "OrderCreationFailed": "The order could not be placed",
    "InventoryReleased": "Items put back",
    "PaymentRefunded": "Payment returned",
    "CheckoutCompleted": "Order confirmed",
    "CheckoutFailed": "Not bought",
}


def money(cents: int | None, currency: str = "USD") -> str:
    """Integer minor units as the person reads them: 2477 -> "$24.77"."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def md(text: str) -> str:
    """Text for st.markdown: dollar signs shown as such, never read as math."""
    return text.replace("$", r"\$")


def chat(text: str) -> str:
    """A chat message for st.markdown: its line breaks kept, a list ended before prose."""
    out: list[str] = []
    in_list = False
    for line in text.splitlines():
        bullet = line.lstrip().startswith(("- ", "* ")) or bool(re.match(r"\s*\d+\. ", line))
        if in_list and not bullet and line.strip():
            out.append("")
        in_list = bullet
        out.append(line)
    return md("  \n".join(out).replace("  \n  \n", "\n\n"))


def zone(name: str | None) -> tzinfo:
    """The person's time zone (the browser's IANA name); UTC when unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def _local(value: str, tz: tzinfo | None) -> datetime:
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz or UTC)


def when(value: str | None, tz: tzinfo | None = None) -> str:
    """An ISO-8601 time in the person's time zone, named: "Nov 24, 13:10 PST"."""
    if not value:
        return ""
    try:
        at = _local(value, tz)
    except ValueError:
        return value
    return f"{at.strftime('%b %d, %H:%M')} {at.tzname()}"


def clock(value: str | None, tz: tzinfo | None = None) -> str:
    """An ISO-8601 time as "13:10:05.123" in the person's time zone: saga steps are
    milliseconds apart (the technical timeline)."""
    if not value:
        return ""
    try:
        return _local(value, tz).strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return value


def short_time(value: str | None, tz: tzinfo | None = None) -> str:
    """An ISO-8601 time as "13:10:05" in the person's time zone."""
    if not value:
        return ""
    try:
        return _local(value, tz).strftime("%H:%M:%S")
    except ValueError:
        return value


def title(text: str, limit: int = 40) -> str:
    """A conversation title cut at a word, with an ellipsis (the full one shows on hover)."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(" ,.;:") + "…"


def short_id(value: str) -> str:
    """The order reference the emails and texts use: the id's first 8 characters."""
    return value[:8]


def words(name: str) -> str:
    """CamelCase to a sentence: "PaymentProcessed" -> "Payment processed"."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()
    return spaced[:1].upper() + spaced[1:]


def step(entry: dict[str, Any], tz: tzinfo | None = None) -> dict[str, str]:
    """One timeline entry of the saga as a row: when, what happened, whether it undid something."""
    kind = str(entry.get("type", ""))
    label, undo = STEPS.get(kind, (words(kind), False))
    payload = entry.get("payload") or {}
    detail = ""
    if kind in ("CheckoutFailed", "PaymentFailed", "InventoryReservationFailed"):
        detail = str(payload.get("reason") or "")
    elif kind == "CheckoutCompleted" and payload.get("order_id"):
        detail = f"order {short_id(str(payload['order_id']))}"
    return {
        "When": clock(str(entry.get("at") or ""), tz),
        "Step": label,
        "Compensation": "yes" if undo else "",
        "Detail": detail,
    }


def progress(entry: dict[str, Any], tz: tzinfo | None = None) -> dict[str, str] | None:
    """One timeline entry as the shopper reads it, or None for the shop's bookkeeping."""
    kind = str(entry.get("type", ""))
    if kind not in PROGRESS:
        return None
    payload = entry.get("payload") or {}
    detail = ""
    if kind in ("CheckoutFailed", "PaymentFailed", "InventoryReservationFailed"):
        detail = str(payload.get("reason") or "")
    elif kind == "CheckoutCompleted" and payload.get("order_id"):
        detail = f"order {short_id(str(payload['order_id']))}"
    return {
        "When": short_time(str(entry.get("at") or ""), tz),
        "What happened": PROGRESS[kind],
        "Detail": detail,
    }


def order_status(order: dict[str, Any]) -> str:
    """The order's status as the shopper reads it: a cancelled order says Cancelled and
    what went back to the card."""
    currency = str(order.get("currency", "USD"))
    refunded = int(order.get("refunded_cents") or 0)
    if order.get("status") == "cancelled":
        return f"Cancelled, {money(refunded, currency)} refunded" if refunded else "Cancelled"
    label = status_label(str(order.get("status", "")))
    if order.get("status") == "partially_refunded":
        return f"Partly refunded ({money(refunded, currency)})"
    window = order.get("delivery_estimate") or {}
    if window.get("earliest") and window.get("latest"):  # one order's page has it
        first, last = (date.fromisoformat(str(window[k])) for k in ("earliest", "latest"))
        days = f"{first:%b} {first.day}" + ("" if last == first else f" to {last:%b} {last.day}")
        return f"{label}, arriving {days}"
    return label


def plan_lines(pending: dict[str, Any]) -> list[dict[str, Any]]:
    """The confirmation's items as table rows."""
    currency = str(pending.get("currency", "USD"))
    return [
        {
            "Item": line["name"],
            "Quantity": line["quantity"],
            "Unit price": money(line["unit_price_cents"], currency),
            "Line total": money(line["line_total_cents"], currency),
        }
        for line in pending.get("lines", [])
    ]


def plan_totals(pending: dict[str, Any]) -> list[dict[str, str]]:
    """Subtotal, discount, tax, shipping, total and the budget, as rows of a small table."""
    currency = str(pending.get("currency", "USD"))
    discount = int(pending.get("discount_cents") or 0)
    coupon = pending.get("coupon_code")
    rows = [
        {"": "Subtotal", "Amount": money(pending.get("subtotal_cents"), currency)},
        {
            "": f"Discount ({coupon})" if coupon else "Discount",
            "Amount": money(-discount if discount else 0, currency),
        },
        {"": "Tax", "Amount": money(pending.get("tax_cents"), currency)},
        {"": "Shipping", "Amount": money(pending.get("shipping_cents"), currency)},
        {"": "Total", "Amount": money(pending.get("total_cents"), currency)},
    ]
    budget = pending.get("budget_cents")
    if budget is not None:
        total = int(pending.get("total_cents") or 0)
        verdict = "within budget" if total <= int(budget) else "over budget"
        rows.append({"": "Budget", "Amount": f"{money(int(budget), currency)} ({verdict})"})
    return rows


def address(value: dict[str, Any] | None) -> str:
    if not value:
        return ""
    parts = [value.get("name"), value.get("line1"), value.get("line2"), value.get("city")]
    region = " ".join(str(p) for p in (value.get("region"), value.get("postal_code")) if p)
    parts += [region, value.get("country")]
    return ", ".join(str(p) for p in parts if p)


def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


# -- the shop's pages ------------------------------------------------------------------------

DEPARTMENTS: dict[str, tuple[str, str]] = {
    "grocery": ("Groceries & Pantry", "🛒"), "household": ("Household & Cleaning", "🧽"),
    "beauty": ("Beauty & Personal Care", "🧴"), "baby": ("Baby", "🍼"), "pets": ("Pet Supplies", "🐾"),
    "office": ("Office & School", "✏️"), "books": ("Books & Media", "📚"),
    "electronics": ("Electronics", "🔌"), "accessories": ("Phone & Computer Accessories", "📱"),
    "home": ("Home & Bath", "🏠"), "kitchen": ("Kitchen & Dining", "🍳"),
    "furniture": ("Furniture & Lighting", "🛋️"), "clothing": ("Clothing", "👕"), "shoes": ("Shoes", "👟"),
    "sports": ("Sports & Fitness", "🏀"), "outdoors": ("Outdoors & Camping", "🏕️"),
    "toys": ("Toys & Games", "🧸"), "garden": ("Garden", "🌱"), "tools": ("Tools & Hardware", "🔧"),
    "automotive": ("Automotive", "🚗"), "health": ("Health", "💊"),
}  # fmt: skip
"""The catalog's departments as the shop page shows them (title, icon); the UI reads no
service code, so the catalog's list (commerce.catalog.kinds) is mirrored here."""


def department(category: str) -> str:
    """ "🍳 Kitchen & Dining" for a product's category; an unknown one shown as it is."""
    title, icon = DEPARTMENTS.get(category, (category.replace("_", " ").capitalize(), "🛍️"))
    return f"{icon} {title}"


def icon(category: str) -> str:
    return DEPARTMENTS.get(category, ("", "🛍️"))[1]


def verdict(q: str, page: dict[str, Any]) -> str | None:
    """What a search's verdict (`match`) tells the shopper, when it says more than its
    items: "none" (the shop does not carry it; nearest departments named) or "related"
    (nothing is called that; the items are the closest in meaning)."""
    match = page.get("match")
    if match == "none":
        nearest = [department(c) for c in page.get("nearest_categories", [])[:3]]
        return f"We don't carry “{q}”." + (f" Nearest: {', '.join(nearest)}." if nearest else "")
    if match == "related":
        return f"Nothing in the shop is called “{q}”; these come closest."
    return None


def rating(value: float | None, count: int | None) -> str:
    """ "★★★★☆ 4.3 (212 reviews)", or "No reviews yet"."""
    if value is None or not count:
        return "No reviews yet"
    full = int(value + 0.5)
    return (
        f"{'★' * full}{'☆' * (5 - full)} {value:.1f} ({count:,} review{'' if count == 1 else 's'})"
    )


def price_range(product: dict[str, Any]) -> str:
    low, high = product.get("min_price_cents"), product.get("max_price_cents")
    currency = str(product.get("currency", "USD"))
    if low is None or high is None or low == high:
        return money(low if low is not None else high, currency)
    return f"{money(low, currency)} to {money(high, currency)}"


SCARCE = 5  # at or below this many units a page says "only N left"


def stock(available: int | None) -> str:
    """What a person reads about one SKU's stock."""
    if available is None:
        return "Stock unknown right now"
    if available <= 0:
        return "Out of stock"
    if available <= SCARCE:
        return f"Only {available} left"
    return "In stock"


def product_stock(product: dict[str, Any]) -> str:
    """A product card's stock line: over all its variants."""
    levels = [v.get("available") for v in product.get("variants", [])]
    if not levels or any(level is None for level in levels):
        return stock(None)
    total = sum(int(level) for level in levels if level is not None)
    if total <= 0:
        return "Out of stock"
    if total <= SCARCE:
        return f"Only {total} left"
    some_gone = any(int(level or 0) <= 0 for level in levels)
    return "In stock (some options sold out)" if some_gone else "In stock"


def variant_label(variant: dict[str, Any], currency: str = "USD") -> str:
    """A variant in the picker: its options, price and stock."""
    options = ", ".join(str(v) for v in variant.get("attributes", {}).values()) or variant["name"]
    return (
        f"{options} — {money(variant['price_cents'], currency)} · {stock(variant.get('available'))}"
    )


def attributes(values: dict[str, str]) -> str:
    """ "Material: stoneware · Capacity: 16 oz" (the product line left out)."""
    shown = [f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in values.items() if k != "line"]
    return " · ".join(shown)
