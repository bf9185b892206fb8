"""An in-memory shop for unit tests of plan generation (pure logic, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant.commerce import CommerceError
from assistant.plan import Cart, CartLine, Order, OrderLine, Product, Promotion, Variant

TAX_BPS = {"CA": 725, "WA": 650, "TX": 625, "NY": 400}
"""The states the fake shop serves, with their tax rate in basis points."""


class FakeShop:
    """CommerceReader over fixed products, a cart and orders; search matches name words."""

    def __init__(self) -> None:
        self.products = {
            "p-battery-aa": Product(
                product_id="p-battery-aa", name="AA Alkaline Batteries", brand="Voltra",
                min_price_cents=499,
                variants=[
                    Variant(sku="BAT-AA-4", name="AA Alkaline Batteries, 4-pack", price_cents=499,
                            attributes={"pack_size": "4"}, available=400),
                    Variant(sku="BAT-AA-8", name="AA Alkaline Batteries, 8-pack", price_cents=939,
                            attributes={"pack_size": "8"}, available=400),
                ],
            ),
            "p-cable-usbc": Product(
                product_id="p-cable-usbc", name="USB-C Cable", brand="Northwire", min_price_cents=799,
                variants=[
                    Variant(sku="CBL-1M-BLA", name="USB-C Cable, 1m, black", price_cents=799,
                            attributes={"length": "1m", "color": "black"}, available=300),
                    Variant(sku="CBL-2M-BLA", name="USB-C Cable, 2m, black", price_cents=999,
                            attributes={"length": "2m", "color": "black"}, available=300),
                ],
            ),
            "p-headphones": Product(
                product_id="p-headphones", name="Noise Cancelling Headphones", brand="Kestrel",
                min_price_cents=8999,
                variants=[
                    Variant(sku="HP-BLA", name="Noise Cancelling Headphones, black", price_cents=8999,
                            attributes={"color": "black"}, available=50),
                    Variant(sku="HP-SIL", name="Noise Cancelling Headphones, silver", price_cents=8999,
                            attributes={"color": "silver"}, available=50),
                ],
            ),
        }  # fmt: skip
        self.cart_lines: list[CartLine] = []
        self.order_list: list[Order] = []
        self.running: list[Promotion] = [
            Promotion(name="10% off orders of $20 or more", coupon_code="SAVE10"),
            Promotion(name="10% off outdoors"),
        ]
        self.quoted: list[tuple[list[tuple[str, int]], dict[str, Any]]] = []

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        words = {w.rstrip("s") for w in query.lower().replace("-", " ").split()}
        found = [
            p
            for p in self.products.values()
            if words & {w.rstrip("s") for w in p.name.lower().replace("-", " ").split()}
            and (max_price_cents is None or p.min_price_cents <= max_price_cents)
        ]
        return found[:limit]

    async def product(self, product_id: str) -> Product | None:
        return self.products.get(product_id)

    async def cart(self) -> Cart:
        return Cart(lines=self.cart_lines)

    async def orders(self, limit: int = 10) -> list[Order]:
        return self.order_list[:limit]

    async def order(self, order_id: str) -> Order | None:
        return next((o for o in self.order_list if o.order_id == order_id), None)

    async def promotions(self) -> list[Promotion]:
        return list(self.running)

    async def coupon_problem(self, code: str, lines: Sequence[tuple[str, int]]) -> str | None:
        """SAVE10 needs a $20.00 subtotal; OLD is expired; other codes do not exist."""
        prices = {v.sku: v.price_cents for p in self.products.values() for v in p.variants}
        subtotal = sum(prices[sku] * quantity for sku, quantity in lines)
        if code == "SAVE10":
            return (
                None if subtotal >= 2000 else "The coupon SAVE10 needs an order of at least $20.00."
            )
        if code == "OLD":
            return "The coupon OLD has expired."
        return f"The coupon {code} does not exist."

    async def quote_lines(
        self, lines: Sequence[tuple[str, int]], address: dict[str, Any]
    ) -> dict[str, Any]:
        """Catalog prices, tax by state (`TAX_BPS`; another state is not served), shipping
        5.99 below a 50.00 subtotal; the cart is not read."""
        self.quoted.append((list(lines), address))
        rate = TAX_BPS.get(str(address.get("region")))
        if rate is None:
            raise CommerceError(
                422, "unsupported_address",
                f"We cannot ship to or calculate tax for US-{address.get('region')} yet.",
            )  # fmt: skip
        variants = {v.sku: v for p in self.products.values() for v in p.variants}
        priced: list[dict[str, Any]] = [
            {"sku": sku, "name": variants[sku].name, "quantity": quantity,
             "unit_price_cents": variants[sku].price_cents}
            for sku, quantity in lines
        ]  # fmt: skip
        subtotal = sum(quantity * variants[sku].price_cents for sku, quantity in lines)
        tax = (subtotal * rate + 5000) // 10000
        shipping = 0 if subtotal >= 5000 else 599
        totals = {
            "subtotal_cents": subtotal, "discount_cents": 0, "tax_cents": tax,
            "shipping_cents": shipping, "total_cents": subtotal + tax + shipping, "currency": "USD",
        }  # fmt: skip
        return {"lines": priced, "totals": totals, "jurisdiction": f"US-{address.get('region')}"}

    def out_of_stock(self, sku: str) -> None:
        for product in self.products.values():
            product.variants[:] = [
                v.model_copy(update={"available": 0}) if v.sku == sku else v
                for v in product.variants
            ]


# Three past orders, newest last here and newest first as the order service lists them
OLD = Order(
    order_id="7c41d2e0-0000-4000-8000-000000000001", status="delivered", total_cents=1499,
    created_at="2026-11-01T10:00:00",
    lines=[OrderLine(sku="HP-BLA", name="Noise Cancelling Headphones, black", quantity=1,
                     unit_price_cents=1499)],
)  # fmt: skip
MIDDLE = Order(
    order_id="51aa9b03-0000-4000-8000-000000000002", status="delivered", total_cents=998,
    created_at="2026-11-10T10:00:00",
    lines=[OrderLine(sku="BAT-AA-4", name="AA Alkaline Batteries, 4-pack", quantity=2,
                     unit_price_cents=499)],
)  # fmt: skip
LATEST = Order(
    order_id="e093f6c2-0000-4000-8000-000000000003", status="confirmed", total_cents=799,
    created_at="2026-11-20T10:00:00",
    lines=[OrderLine(sku="CBL-1M-BLA", name="USB-C Cable, 1m, black", quantity=1,
                     unit_price_cents=799)],
)  # fmt: skip
