"""The assistant's way into the shop: the BFF's public API with the person's bearer token.

The same routes a web client uses (products, cart, quote, checkouts, orders, refunds).
Starting a checkout is the one exception: it goes through a callable the BFF hands in
(`bff.routes.start_checkout(..., source="assistant")`), so the command is written to the
BFF's outbox with the quote the person approved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import httpx

from assistant.plan import Cart, CommerceReader, Order, Product

StartCheckout = Callable[[dict[str, Any], str | None, str, int], Awaitable[str]]
"""(shipping address, coupon, payment token, approved total) -> checkout id."""


class CommerceError(Exception):
    """The shop refused or could not answer; `message` is fit to show the person."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Commerce(CommerceReader, Protocol):
    async def me(self) -> dict[str, Any]: ...
    async def add_line(self, sku: str, quantity: int) -> Cart: ...
    async def set_quantity(self, sku: str, quantity: int) -> Cart: ...
    async def remove_line(self, sku: str) -> Cart: ...
    async def quote(self, address: dict[str, Any], coupon: str | None) -> dict[str, Any]: ...
    async def start_checkout(
        self, address: dict[str, Any], coupon: str | None, payment_token: str, total_cents: int
    ) -> str: ...
    async def checkout(self, checkout_id: str) -> dict[str, Any]: ...
    async def refund(
        self,
        order_id: str,
        reason: str,
        *,
        lines: list[dict[str, Any]] | None = None,
        amount_cents: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]: ...


class BffCommerce:
    """`Commerce` over the BFF's HTTP API."""

    def __init__(
        self, http: httpx.AsyncClient, token: str, start: StartCheckout | None = None
    ) -> None:
        self._http = http
        self._headers = {"Authorization": f"Bearer {token}"}
        self._start = start
        self._nearest: dict[str, list[str]] = {}
        self._kinds: dict[str, list[str]] = {}

    async def _call(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> Any:
        try:
            response = await self._http.request(
                method, path, headers={**self._headers, **(headers or {})}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise CommerceError(503, "unavailable", "The shop is not answering right now.") from exc
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            raise CommerceError(
                response.status_code,
                str(error.get("code", "error")),
                str(error.get("message", f"The shop answered {response.status_code}.")),
            )
        return response.json()

    async def me(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/v1/me")
        return result

    async def coupon_problem(self, code: str, lines: Sequence[tuple[str, int]]) -> str | None:
        if not lines:
            return None
        body = {"code": code, "lines": [{"sku": sku, "quantity": q} for sku, q in lines]}
        found = await self._call("POST", "/v1/coupons/check", json=body)
        return None if found.get("applies") else str(found.get("reason") or "It does not apply.")

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        params: dict[str, Any] = {"q": query, "limit": limit}
        if max_price_cents is not None:
            params["max_price_cents"] = max_price_cents
        found = await self._call("GET", "/v1/products", params=params)
        self._kinds[query] = [str(k) for k in found.get("query_types") or []]
        if found.get("match") in ("none", "related"):
            # the shop does not carry it (or only things close in meaning): no match, and
            # what comes closest is kept to name in the answer
            near = found.get("nearest") or found.get("items") or []
            self._nearest[query] = [str(p["name"]) for p in near[:3]]
            return []
        return [Product.model_validate(p) for p in found["items"]]

    def nearest(self, query: str) -> list[str]:
        """What the catalog carries closest to `query`, when its search found no match."""
        return self._nearest.get(query, [])

    def kinds(self, query: str) -> list[str]:
        """The product types `query` named, as its search read it."""
        return self._kinds.get(query, [])

    async def product(self, product_id: str) -> Product | None:
        try:
            return Product.model_validate(
                await self._call("GET", f"/v1/products/{_seg(product_id)}")
            )
        except CommerceError as exc:
            if exc.status == 404:
                return None
            raise

    async def cart(self) -> Cart:
        return Cart.model_validate(await self._call("GET", "/v1/cart"))

    async def add_line(self, sku: str, quantity: int) -> Cart:
        body = {"sku": sku, "quantity": quantity}
        return Cart.model_validate(await self._call("POST", "/v1/cart/lines", json=body))

    async def set_quantity(self, sku: str, quantity: int) -> Cart:
        return Cart.model_validate(
            await self._call("PUT", f"/v1/cart/lines/{_seg(sku)}", json={"quantity": quantity})
        )

    async def remove_line(self, sku: str) -> Cart:
        return Cart.model_validate(await self._call("DELETE", f"/v1/cart/lines/{_seg(sku)}"))

    async def quote(self, address: dict[str, Any], coupon: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"shipping_address": address}
        if coupon:
            body["coupon_code"] = coupon
        result: dict[str, Any] = await self._call("POST", "/v1/checkout/quote", json=body)
        return result

    async def start_checkout(
        self, address: dict[str, Any], coupon: str | None, payment_token: str, total_cents: int
    ) -> str:
        if self._start is None:
            raise CommerceError(503, "unavailable", "Checkout cannot be started from here.")
        return await self._start(address, coupon, payment_token, total_cents)

    async def checkout(self, checkout_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", f"/v1/checkouts/{_seg(checkout_id)}")
        return result

    async def orders(self, limit: int = 10) -> list[Order]:
        found = await self._call("GET", "/v1/orders", params={"limit": limit})
        return [Order.model_validate(_order(o)) for o in found["items"]]

    async def order(self, order_id: str) -> Order | None:
        try:
            return Order.model_validate(
                _order(await self._call("GET", f"/v1/orders/{_seg(order_id)}"))
            )
        except CommerceError as exc:
            if exc.status in (404, 422):
                return None
            raise

    async def refund(
        self,
        order_id: str,
        reason: str,
        *,
        lines: list[dict[str, Any]] | None = None,
        amount_cents: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"reason": reason}
        if lines:
            body["lines"] = lines
        elif amount_cents:
            body["amount_cents"] = amount_cents
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        result: dict[str, Any] = await self._call(
            "POST", f"/v1/orders/{_seg(order_id)}/refunds", json=body, headers=headers
        )
        return result


def _order(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "order_id": str(raw["order_id"]), "created_at": str(raw.get("created_at", ""))}


def _seg(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
