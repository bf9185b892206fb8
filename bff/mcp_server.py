"""The shop over the Model Context Protocol: `agentshop mcp` (stdio or streamable HTTP).

A desktop agent (or any MCP client) acts for one signed-in person through the BFF's
public API, exactly as the web UI does: search, product details, the cart, a quote,
orders and refunds. Buying takes two calls on purpose: `checkout` only prices the cart
and returns the quote; `confirm_purchase` pays, and only with the exact total of that
quote (`expected_total_cents`) — a total that moved is refused and quoted again, so
nothing is ever bought silently. A refund names the exact amount back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from commerce.contracts.values import FINAL_STATES
from shopapi import client as api

INSTRUCTIONS = (
    "agentshop: search products, manage the cart, quote and buy for the signed-in person. "
    "Never buy without the person's explicit yes: call `checkout` to get the quote, show it, "
    "and call `confirm_purchase` with its exact `total_cents` only after they approve."
)


class ShopError(ToolError):
    """The BFF refused a request; the message is the reason a person can read."""


@dataclass
class Shop:
    """The BFF as one person sees it (their bearer token on every call)."""

    base_url: str
    email: str
    password: str
    wait_seconds: float = 20.0
    token: str | None = None
    pending: dict[str, Any] | None = field(default=None)  # the last quote `checkout` showed
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def send(self, call: api.Call[Any], *, retry: bool = True) -> Any:
        """The answer to `call` as JSON values (what a tool returns)."""
        client = api.AsyncClient(self.base_url, self.token, http=self.http)
        if self.token is None:
            try:
                self.token = (await client.sign_in(self.email, self.password)).access_token
            except api.ShopError as exc:
                raise ShopError(f"Cannot sign in as {self.email}: {exc.message}") from exc
        try:
            return (await client.send(call)).model_dump(mode="json")
        except api.ShopError as exc:
            if exc.status == 401 and retry:  # the token ran out: sign in again, once
                self.token = None
                return await self.send(call, retry=False)
            raise ShopError(f"{exc.message or exc.code} (HTTP {exc.status})") from exc

    async def address(self, address: dict[str, Any] | None) -> dict[str, Any]:
        if address:
            return address
        home = (await self.send(api.me())).get("address")
        if not home:
            raise ShopError("No home address on file: pass a shipping address.")
        return dict(home)


def build(shop: Shop) -> MCPServer:
    """The MCP server with the shop's tools, acting through `shop`."""
    server = MCPServer(name="agentshop", instructions=INSTRUCTIONS)

    @server.tool()
    async def search_products(query: str, limit: int = 10) -> Any:
        """Search the catalog by words (typos and plurals are fine); cheapest first when
        `sort` is not given. Returns products with their SKUs, prices (cents) and stock."""
        return await shop.send(api.search(query, limit=max(1, min(limit, 50))))

    @server.tool()
    async def product_details(product_id: str) -> Any:
        """One product with every variant (SKU), price in cents and availability."""
        return await shop.send(api.product(product_id))

    @server.tool()
    async def view_cart() -> Any:
        """The person's cart: lines with SKU, quantity and the price seen."""
        return await shop.send(api.cart())

    @server.tool()
    async def add_to_cart(sku: str, quantity: int = 1) -> Any:
        """Put `quantity` of a SKU in the cart (adds to what is there)."""
        return await shop.send(api.add_line(sku, quantity))

    @server.tool()
    async def remove_from_cart(sku: str) -> Any:
        """Take a SKU out of the cart."""
        return await shop.send(api.remove_line(sku))

    @server.tool()
    async def quote(
        shipping_address: dict[str, Any] | None = None, coupon_code: str | None = None
    ) -> Any:
        """Price the cart: subtotal, discount, tax, shipping and total in cents (nothing is
        bought). Ships to the person's home address unless `shipping_address` is given
        (name, line1, city, region, postal_code, country)."""
        return await shop.send(api.quote_cart(await shop.address(shipping_address), coupon_code))

    @server.tool()
    async def checkout(
        shipping_address: dict[str, Any] | None = None, coupon_code: str | None = None
    ) -> Any:
        """Step 1 of buying: the quote to show the person. Nothing is charged. To buy, call
        `confirm_purchase` with this quote's exact `total_cents` after the person says yes."""
        address = await shop.address(shipping_address)
        quoted = await shop.send(api.quote_cart(address, coupon_code))
        total = quoted["totals"]["total_cents"]
        shop.pending = {
            "shipping_address": address,
            "coupon_code": coupon_code,
            "total_cents": total,
        }
        return {
            "quote": quoted, "total_cents": total, "confirmation_required": True,
            "next_step": f"Show this to the person; if they approve, call confirm_purchase with expected_total_cents={total}.",
        }  # fmt: skip

    @server.tool()
    async def confirm_purchase(expected_total_cents: int, payment_token: str = "tok_visa") -> Any:
        """Step 2 of buying, only after the person approved the quote from `checkout`: pays
        exactly `expected_total_cents`. A different total (prices or cart changed) is
        refused and nothing is charged. Waits for the outcome: the order, or why not."""
        pending = shop.pending
        if pending is None:
            raise ShopError("Call checkout first and show the quote; nothing was bought.")
        if expected_total_cents != pending["total_cents"]:
            raise ShopError(
                f"The quote's total is {pending['total_cents']} cents, not {expected_total_cents}; "
                "nothing was bought."
            )
        call = api.start_checkout(
            pending["shipping_address"], payment_token, expected_total_cents,
            coupon=pending["coupon_code"],
        )  # fmt: skip
        shop.pending = None  # one approval buys once
        started = await shop.send(call)
        checkout_id = started["checkout_id"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + shop.wait_seconds
        while True:  # long polls, each answered once the outcome is known
            wait = max(min(deadline - loop.time(), api.OUTCOME_WAIT_SECONDS), 0.0)
            state = await shop.send(api.checkout(checkout_id, wait=wait, until="finished"))
            if state.get("state") in FINAL_STATES:
                return state
            if wait <= 0:
                return {**state, "note": "Still processing; ask order_status later."}

    @server.tool()
    async def order_status(order_id: str | None = None) -> Any:
        """One order (status, lines, totals, history), or the person's latest orders."""
        if order_id:
            return await shop.send(api.order(order_id))
        return await shop.send(api.orders(limit=10))

    @server.tool()
    async def request_refund(order_id: str, amount_cents: int, reason: str) -> Any:
        """Refund exactly `amount_cents` of an order to the card it was paid with (never
        more than was captured). Ask the person to confirm the amount first."""
        return await shop.send(api.refund(order_id, reason, amount_cents=amount_cents))

    return server


def run(base_url: str, email: str, password: str, transport: str, host: str, port: int) -> None:
    """Serve until stopped: `stdio` for a desktop agent, `http` for streamable HTTP at /mcp."""
    server = build(Shop(base_url.rstrip("/"), email, password))
    if transport == "stdio":
        server.run("stdio")
    else:
        asyncio.run(server.run_streamable_http_async(host=host, port=port))
