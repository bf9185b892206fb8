"""The person's cart: read it, add an item (priced by the catalog), change or remove a line."""

from __future__ import annotations

from bff.errors import ApiError
from bff.services import catalog
from bff.upstream import call
from commerce.contracts.values import MAX_CHECKOUT_LINES, CheckoutLine
from commerce.platform.service import ServiceRuntime
from shopapi.client import seg
from shopapi.schemas import CartLineCreate, CartLineUpdate, CartPublic


async def get(runtime: ServiceRuntime, user: str) -> CartPublic:
    return CartPublic.model_validate(await call(runtime, "cart", "GET", f"/carts/{seg(user)}"))


async def add_line(runtime: ServiceRuntime, user: str, body: CartLineCreate) -> CartPublic:
    """Add an item; its price comes from the catalog, never from the client."""
    sku = await catalog.sku(runtime, body.sku)
    line = {
        "sku": sku["sku"], "product_id": sku["product_id"], "name": sku["name"], "quantity": body.quantity,
        "unit_price_cents": sku["price_cents"], "currency": sku["currency"], "category": sku["category"],
        "tax_class": sku["tax_class"],
    }  # fmt: skip
    return CartPublic.model_validate(
        await call(runtime, "cart", "POST", f"/carts/{seg(user)}/lines", json=line)
    )


async def set_quantity(
    runtime: ServiceRuntime, user: str, sku: str, body: CartLineUpdate
) -> CartPublic:
    return CartPublic.model_validate(
        await call(
            runtime, "cart", "PUT", f"/carts/{seg(user)}/lines/{seg(sku)}", json=body.model_dump()
        )
    )


async def remove_line(runtime: ServiceRuntime, user: str, sku: str) -> CartPublic:
    return CartPublic.model_validate(
        await call(runtime, "cart", "DELETE", f"/carts/{seg(user)}/lines/{seg(sku)}")
    )


async def checkout_lines(runtime: ServiceRuntime, user: str) -> tuple[str, list[CheckoutLine]]:
    """The cart's id and its lines as a checkout takes them; 422 when it is empty or has
    more lines than a checkout holds."""
    cart = await call(runtime, "cart", "GET", f"/carts/{seg(user)}")
    if not cart["lines"]:
        raise ApiError(422, "cart_empty", "The cart is empty.")
    if len(cart["lines"]) > MAX_CHECKOUT_LINES:  # a cart filled before the cart's own limit
        raise ApiError(
            422, "cart_full",
            f"A checkout holds at most {MAX_CHECKOUT_LINES} different items; remove some first.",
        )  # fmt: skip
    lines = [
        CheckoutLine(sku=li["sku"], product_id=li["product_id"], name=li["name"], quantity=li["quantity"],
                     unit_price_cents=li["unit_price_cents"], tax_class=li["tax_class"], category=li["category"])
        for li in cart["lines"]
    ]  # fmt: skip
    return str(cart["cart_id"]), lines
