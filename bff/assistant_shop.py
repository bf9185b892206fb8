"""The assistant's shop port (`assistant.commerce.Commerce`) for one signed-in person, served
in process by the BFF's application layer (`bff.services`).

The person was authenticated (and rate-limited once) by the request that runs the chat
turn; the assistant's reads and cart changes then call the same functions the `/v1`
routes call, with the same ownership checks and rules, without HTTP, a second rate-limit
pass or JSON in between. A refusal keeps its status, code and message as a
`CommerceError`; a body the API would refuse (a quantity over 1,000, say) is refused with
the same 422 and message the API gives.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from assistant.commerce import CommerceError
from assistant.plan import Cart, Order, Product, Promotion
from assistant.spelling import catalog_words
from bff.errors import ApiError, validation_message
from bff.services import account, cart, catalog, checkout, orders
from bff.upstream import call
from commerce.checkout.waiting import MAX_WAIT_SECONDS as MAX_WAIT
from commerce.platform.service import ServiceRuntime
from shopapi.schemas import (
    CartLineCreate,
    CartLineUpdate,
    CartPublic,
    CouponCheckCreate,
    QuoteCreate,
    RefundCreate,
)

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)


def request_body(model: type[B], **values: Any) -> B:
    """A request body checked as the API checks it (422 `invalid_field` with its reason)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        _, message = validation_message(exc.errors())
        raise CommerceError(422, "invalid_field", message) from exc


async def _answer(work: Awaitable[T]) -> T:
    try:
        return await work
    except ApiError as exc:
        raise CommerceError(exc.status, exc.code, exc.message) from exc


def _cart(found: CartPublic) -> Cart:
    return Cart.model_validate(found.model_dump(mode="json"))


VOCABULARY_SECONDS = 600.0
"""How long the catalog's words are kept before they are read again."""
_vocabularies: dict[int, tuple[float, Mapping[str, int]]] = {}
_reading: dict[int, asyncio.Future[Mapping[str, int]]] = {}


async def catalog_vocabulary(runtime: ServiceRuntime) -> Mapping[str, int]:
    """The words of the catalog's product names, brands, kinds and departments, with how
    many products use each: read page by page through the catalog search (kept
    `VOCABULARY_SECONDS` per process; turns that need them while they are read wait for
    the same read), for the assistant's typo correction."""
    kept = _vocabularies.get(id(runtime))
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    reading = _reading.get(id(runtime))
    if reading is None or reading.done():
        reading = asyncio.ensure_future(_read_vocabulary(runtime))
        _reading[id(runtime)] = reading
    try:
        return await asyncio.shield(reading)
    finally:
        if reading.done() and _reading.get(id(runtime)) is reading:
            del _reading[id(runtime)]


async def _read_vocabulary(runtime: ServiceRuntime) -> Mapping[str, int]:
    async def page(offset: int) -> dict[str, Any]:
        # past the BFF's read cache: these pages are read once, and would only push out
        # the searches shoppers repeat
        params = {"limit": "100", "offset": str(offset), "sort": "name"}
        found: dict[str, Any] = await _answer(
            call(runtime, "catalog", "GET", "/products", params=params)
        )
        return found

    first = await page(0)
    total = min(int(first.get("total") or 0), 10_000)
    pages = [first]
    offsets = list(range(100, total, 100))
    for at in range(0, len(offsets), 8):
        pages += await asyncio.gather(*(page(o) for o in offsets[at : at + 8]))
    words = catalog_words(
        str(p.get(field) or "")
        for found in pages
        for p in found.get("items") or []
        for field in ("name", "brand", "product_type", "category")
    )
    _vocabularies[id(runtime)] = (time.monotonic() + VOCABULARY_SECONDS, words)
    return words


class InProcessShop:
    """`Commerce` for one person, calling the BFF's application layer directly."""

    def __init__(self, runtime: ServiceRuntime, user: str) -> None:
        self.runtime = runtime
        self.user = user
        self._nearest: dict[str, list[str]] = {}
        self._kinds: dict[str, list[str]] = {}
        self._related: dict[str, list[Product]] = {}

    async def me(self) -> dict[str, Any]:
        return (await _answer(account.profile(self.runtime, self.user))).model_dump(mode="json")

    async def promotions(self) -> list[Promotion]:
        found = await _answer(checkout.promotions(self.runtime))
        return [Promotion.model_validate(p.model_dump(mode="json")) for p in found.items]

    async def coupon_problem(self, code: str, lines: Sequence[tuple[str, int]]) -> str | None:
        if not lines:
            return None
        body = request_body(
            CouponCheckCreate, code=code, lines=[{"sku": s, "quantity": q} for s, q in lines]
        )
        found = await _answer(checkout.check_coupon(self.runtime, self.user, body))
        return None if found.applies else str(found.reason or "It does not apply.")

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        params = [("q", query), ("limit", str(limit))]
        if max_price_cents is not None:
            params.append(("max_price_cents", str(max_price_cents)))
        found = (await _answer(catalog.search(self.runtime, tuple(params)))).json
        self._kinds[query] = [str(k) for k in found.get("query_types") or []]
        if found.get("match") in ("none", "related"):
            # the shop does not carry it (or only things close in meaning): no match, and
            # what comes closest is kept to name in the answer
            near = found.get("nearest") or found.get("items") or []
            self._nearest[query] = [str(p["name"]) for p in near[:3]]
            self._related[query] = [Product.model_validate(p) for p in near]
            return []
        return [Product.model_validate(p) for p in found["items"]]

    async def vocabulary(self) -> Mapping[str, int]:
        return await catalog_vocabulary(self.runtime)

    def nearest(self, query: str) -> list[str]:
        """What the catalog carries closest to `query`, when its search found no match."""
        return self._nearest.get(query, [])

    def related(self, query: str) -> list[Product]:
        """The products closest in meaning to `query`, when its search found no match."""
        return self._related.get(query, [])

    def kinds(self, query: str) -> list[str]:
        """The product types `query` named, as its search read it."""
        return self._kinds.get(query, [])

    async def product(self, product_id: str) -> Product | None:
        try:
            found = await _answer(catalog.product(self.runtime, product_id))
        except CommerceError as exc:
            if exc.status == 404:
                return None
            raise
        return Product.model_validate(found.json)

    async def cart(self) -> Cart:
        return _cart(await _answer(cart.get(self.runtime, self.user)))

    async def add_line(self, sku: str, quantity: int) -> Cart:
        body = request_body(CartLineCreate, sku=sku, quantity=quantity)
        return _cart(await _answer(cart.add_line(self.runtime, self.user, body)))

    async def set_quantity(self, sku: str, quantity: int) -> Cart:
        body = request_body(CartLineUpdate, quantity=quantity)
        return _cart(await _answer(cart.set_quantity(self.runtime, self.user, sku, body)))

    async def remove_line(self, sku: str) -> Cart:
        return _cart(await _answer(cart.remove_line(self.runtime, self.user, sku)))

    async def quote(self, address: dict[str, Any], coupon: str | None) -> dict[str, Any]:
        body = _quote_body(address, coupon)
        _, lines, quoted = await _answer(checkout.quote(self.runtime, self.user, body))
        return checkout.public(lines, quoted).model_dump(mode="json")

    async def quote_lines(
        self, lines: Sequence[tuple[str, int]], address: dict[str, Any]
    ) -> dict[str, Any]:
        body = _quote_body(address, None)
        priced, quoted = await _answer(checkout.quote_lines(self.runtime, self.user, lines, body))
        return checkout.public(priced, quoted).model_dump(mode="json")

    async def start_checkout(
        self, address: dict[str, Any], coupon: str | None, payment_token: str, total_cents: int
    ) -> str:
        """Re-quote, refuse a changed total, and start the saga (`source="assistant"`)."""
        body = _quote_body(address, coupon)
        cart_id, lines, quoted = await _answer(checkout.quote(self.runtime, self.user, body))
        if quoted.totals.total_cents != total_cents:
            raise CommerceError(
                409, "price_changed", f"The total is now {quoted.totals.total_cents / 100:.2f}."
            )
        checkout_id = await _answer(
            checkout.start(
                self.runtime,
                self.user,
                cart_id,
                lines,
                body.shipping_address,
                coupon,
                payment_token,
                quoted,
                source="assistant",
            )
        )
        return str(checkout_id)

    async def checkout(self, checkout_id: str, wait: float = 0) -> dict[str, Any]:
        found = await _answer(
            checkout.status(
                self.runtime, self.user, path_id(checkout_id), min(wait, MAX_WAIT), "finished"
            )
        )
        return found.model_dump(mode="json")

    async def orders(self, limit: int = 10) -> list[Order]:
        found = await _answer(orders.list_orders(self.runtime, self.user, limit))
        return [Order.model_validate(o.model_dump(mode="json")) for o in found.items]

    async def order(self, order_id: str) -> Order | None:
        try:
            found = await _answer(orders.get(self.runtime, self.user, path_id(order_id)))
        except CommerceError as exc:
            if exc.status in (404, 422):
                return None
            raise
        return Order.model_validate(found.model_dump(mode="json"))

    async def refund(
        self,
        order_id: str,
        reason: str,
        *,
        lines: list[dict[str, Any]] | None = None,
        amount_cents: int | None = None,
        idempotency_key: str | None = None,
        cancels_order: bool = False,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {"reason": reason}
        if cancels_order:
            values["cancels_order"] = True
        elif lines:
            values["lines"] = lines
        elif amount_cents:
            values["amount_cents"] = amount_cents
        body = request_body(RefundCreate, **values)
        found = await _answer(
            orders.refund(self.runtime, self.user, path_id(order_id), body, idempotency_key)
        )
        return found.model_dump(mode="json")


def _quote_body(address: dict[str, Any], coupon: str | None) -> QuoteCreate:
    values: dict[str, Any] = {"shipping_address": address}
    if coupon:
        values["coupon_code"] = coupon
    return request_body(QuoteCreate, **values)


def path_id(value: str) -> uuid.UUID:
    """An id the API takes in its path: one that is not a UUID is a 422, as there."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise CommerceError(422, "invalid_field", f"{value[:40]!r} is not an id.") from exc
