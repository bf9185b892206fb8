"""The assistant's port into the shop: what its nodes may ask of it, for one person.

The assistant defines it and depends on nothing else of the shop; whoever runs the graph
hands in an implementation (the BFF serves it in process for the signed-in person; unit
tests use a fake). Starting a checkout takes the total the person approved: a shop whose
total moved refuses it (409 `price_changed`) and starts nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from assistant.plan import Cart, CommerceReader


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
    async def quote_lines(
        self, lines: Sequence[tuple[str, int]], address: dict[str, Any]
    ) -> dict[str, Any]:
        """These (sku, quantity) lines priced for `address` as a checkout would price them
        (the `quote` answer: lines, totals, jurisdiction), whatever the cart holds; the
        cart is not touched."""
        ...

    async def start_checkout(
        self, address: dict[str, Any], coupon: str | None, payment_token: str, total_cents: int
    ) -> str: ...
    async def checkout(self, checkout_id: str, wait: float = 0) -> dict[str, Any]:
        """The checkout's status; with `wait`, answered once it is completed or failed,
        or after `wait` seconds with its state then (a long poll)."""
        ...

    async def refund(
        self,
        order_id: str,
        reason: str,
        *,
        lines: list[dict[str, Any]] | None = None,
        amount_cents: int | None = None,
        idempotency_key: str | None = None,
        cancels_order: bool = False,
    ) -> dict[str, Any]: ...
