"""What the person reads: amounts, the plan table's totals and budget, the saga's steps."""

from __future__ import annotations

from ui import format as fmt

PENDING = {
    "lines": [
        {"sku": "BAT-AA-8", "name": "AA Batteries", "quantity": 2, "unit_price_cents": 939,
         "line_total_cents": 1878},
    ],
    "subtotal_cents": 1878, "discount_cents": 188, "tax_cents": 0, "shipping_cents": 599,
    "total_cents": 2289, "budget_cents": 3000, "coupon_code": "SAVE10", "currency": "USD",
}  # fmt: skip


def test_money_is_shown_in_dollars_and_cents() -> None:
    assert fmt.money(2477) == "$24.77"
    assert fmt.money(5) == "$0.05"
    assert fmt.money(-188) == "-$1.88"
    assert fmt.money(123456789) == "$1,234,567.89"
    assert fmt.money(None) == "—"


def test_dollar_signs_never_become_math_in_markdown() -> None:
    assert fmt.md("under $30, about $24") == r"under \$30, about \$24"


def test_plan_table_lists_items_and_every_total_with_the_budget_verdict() -> None:
    assert fmt.plan_lines(PENDING) == [
        {"Item": "AA Batteries", "Quantity": 2, "Unit price": "$9.39", "Line total": "$18.78"},
    ]  # fmt: skip
    rows = {r[""]: r["Amount"] for r in fmt.plan_totals(PENDING)}
    assert rows == {
        "Subtotal": "$18.78",
        "Discount (SAVE10)": "-$1.88",
        "Tax": "$0.00",
        "Shipping": "$5.99",
        "Total": "$22.89",
        "Budget": "$30.00 (within budget)",
    }
    over = {r[""]: r["Amount"] for r in fmt.plan_totals({**PENDING, "budget_cents": 2000})}
    assert over["Budget"] == "$20.00 (over budget)"
    assert "Budget" not in {r[""] for r in fmt.plan_totals({**PENDING, "budget_cents": None})}


def test_saga_steps_read_as_sentences_and_mark_compensations() -> None:
    undo = fmt.step({"type": "CompensatePayment", "at": "2026-11-24T21:57:21.123456+00:00"})
    assert undo == {
        "When": "21:57:21.123",
        "Step": "Undo: refunding the payment",
        "Compensation": "yes",
        "Detail": "",
    }
    failed = fmt.step({"type": "CheckoutFailed", "payload": {"reason": "Card declined."}})
    assert failed["Step"] == "Checkout failed" and failed["Detail"] == "Card declined."
    assert fmt.step({"type": "SomethingNewHappened"})["Step"] == "Something new happened"


def test_addresses_read_on_one_line() -> None:
    home = {"name": "Alice Martin", "line1": "1 Main St", "city": "Portland", "region": "OR",
            "postal_code": "97201", "country": "US"}  # fmt: skip
    assert fmt.address(home) == "Alice Martin, 1 Main St, Portland, OR 97201, US"


def test_shop_cards_show_department_rating_price_and_stock() -> None:
    assert fmt.department("kitchen") == "🍳 Kitchen & Dining"
    assert fmt.department("mystery_dept") == "🛍️ Mystery dept"
    assert fmt.rating(4.3, 212) == "★★★★☆ 4.3 (212 reviews)"
    assert fmt.rating(5.0, 1) == "★★★★★ 5.0 (1 review)"
    assert fmt.rating(None, 0) == "No reviews yet"
    product = {"min_price_cents": 799, "max_price_cents": 1299, "currency": "USD",
               "variants": [{"available": 0}, {"available": 40}]}  # fmt: skip
    assert fmt.price_range(product) == "$7.99 to $12.99"
    assert fmt.price_range({**product, "max_price_cents": 799}) == "$7.99"
    assert fmt.product_stock(product) == "In stock (some options sold out)"
    assert fmt.product_stock({"variants": [{"available": 0}, {"available": 3}]}) == "Only 3 left"
    assert fmt.product_stock({"variants": [{"available": 0}]}) == "Out of stock"
    assert fmt.product_stock({"variants": [{"available": None}]}) == "Stock unknown right now"


def test_a_search_says_when_the_shop_does_not_carry_it() -> None:
    none = {"match": "none", "items": [], "nearest_categories": ["books", "toys", "kitchen"]}
    assert fmt.verdict("grand piano", none) == (
        "We don't carry “grand piano”. Nearest: 📚 Books & Media, 🧸 Toys & Games,"
        " 🍳 Kitchen & Dining."
    )
    assert fmt.verdict("x", {"match": "none"}) == "We don't carry “x”."
    related = fmt.verdict("something to keep coffee hot", {"match": "related"})
    assert (
        related
        == "Nothing in the shop is called “something to keep coffee hot”; these come closest."
    )
    assert fmt.verdict("mug", {"match": "matched"}) is None
    assert fmt.verdict("", {"match": None}) is None


def test_the_product_page_names_each_option_with_price_and_stock() -> None:
    variant = {"sku": "X", "name": "Mug, blue, 16 oz", "price_cents": 1299,
               "attributes": {"color": "blue", "capacity": "16 oz"}, "available": 2}  # fmt: skip
    assert fmt.variant_label(variant) == "blue, 16 oz — $12.99 · Only 2 left"
    assert fmt.attributes({"line": "classic", "material": "stoneware", "pack_count": "4"}) == (
        "Material: stoneware · Pack count: 4"
    )
    assert set(fmt.DEPARTMENTS) >= {"grocery", "shoes", "pets", "automotive", "health"}


def test_the_ui_shows_every_department_of_the_catalog() -> None:
    from commerce.catalog.kinds import DEPARTMENTS

    assert {d.slug: (d.title, d.icon) for d in DEPARTMENTS} == fmt.DEPARTMENTS


def test_shoppers_read_their_order_in_their_words() -> None:
    at = "2026-11-24T21:57:21.123456+00:00"
    shown = [
        fmt.progress({"type": kind, "at": at, "payload": payload})
        for kind, payload in [
            ("InitiateCheckoutCommand", {}), ("ReserveInventory", {}), ("InventoryReserved", {}),
            ("ProcessPayment", {}), ("PaymentProcessed", {}), ("CreateOrder", {}),
            ("OrderCreated", {}), ("CartCleared", {}), ("NotificationRequested", {}),
            ("CheckoutCompleted", {"order_id": "0a1b2c3d-0000"}),
        ]
    ]  # fmt: skip
    assert [(r["What happened"], r["Detail"]) for r in shown if r is not None] == [
        ("Order received", ""), ("Items reserved", ""), ("Payment taken", ""),
        ("Order confirmed", "order 0a1b2c3d"),
    ]  # fmt: skip
    undone = fmt.progress({"type": "PaymentRefunded", "at": at})
    assert undone is not None and undone["What happened"] == "Payment returned"


def test_times_are_shown_in_the_persons_time_zone_with_its_name() -> None:
    at = "2026-11-24T21:57:21+00:00"
    assert fmt.when(at) == "Nov 24, 21:57 UTC"
    assert fmt.when(at, fmt.zone("America/Los_Angeles")) == "Nov 24, 13:57 PST"
    assert fmt.when(at, fmt.zone("Europe/Paris")) == "Nov 24, 22:57 CET"
    assert fmt.zone("Not/AZone") == fmt.zone(None)
    assert fmt.clock(at, fmt.zone("Asia/Tokyo")) == "06:57:21.000"


def test_a_cancelled_order_says_so_and_what_went_back() -> None:
    cancelled = {"status": "cancelled", "refunded_cents": 2477, "currency": "USD"}
    assert fmt.order_status(cancelled) == "Cancelled, $24.77 refunded"
    assert fmt.order_status({**cancelled, "status": "refunded"}) == "Refunded"
    assert fmt.order_status({"status": "cancelled", "refunded_cents": 0}) == "Cancelled"
    partly = {"status": "partially_refunded", "refunded_cents": 250, "currency": "USD"}
    assert fmt.order_status(partly) == "Partly refunded ($2.50)"
    assert fmt.order_status({"status": "confirmed"}) == "Confirmed"


def test_long_titles_are_cut_at_a_word() -> None:
    long = "two packs of AA batteries and a USB-C cable, under $30, ship home"
    assert fmt.title(long) == "two packs of AA batteries and a USB-C…"
    assert fmt.title("a USB-C cable") == "a USB-C cable"


def test_an_order_on_its_way_shows_standard_shippings_window() -> None:
    coming = {"status": "shipped", "delivery_estimate": {"earliest": "2026-12-03",
                                                         "latest": "2026-12-07"}}  # fmt: skip
    assert fmt.order_status(coming) == "Shipped, arriving Dec 3 to Dec 7"
    assert fmt.order_status({"status": "shipped"}) == "Shipped"
