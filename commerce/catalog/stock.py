"""Stock levels laid over the catalog's answers, read from inventory's API.

Every answer shows availability, and stock changes all the time, so the catalog keeps
the levels of the SKUs its pages showed lately (`RecentSkus`, the last 1,000 or so; the
catalog has some 20,000) for `seconds` (CATALOG_STOCK_CACHE_SECONDS, default 1): one
reading of those (a few calls of up to 200 SKUs each) serves every page showing them
until it is that old, instead of a call to inventory on most pages; a page showing
another SKU waits for a reading that adds it. While the levels are in
use a new reading starts a little before they expire, so under steady traffic no page
waits for it. Availability on a page may be `seconds` old; the checkout's reservation is
what decides whether stock is there. With `seconds` 0 each page asks for its own SKUs.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Sequence

import httpx
import structlog

from commerce.platform.tasks import observe

log = structlog.get_logger(__name__)

PER_CALL = 200  # the most SKUs inventory's GET /stock takes at once
REFRESH_AHEAD = 0.75  # of `seconds`: when a reading in use starts the next one
UNAVAILABLE = (httpx.HTTPError, KeyError, ValueError)  # inventory away, failing or garbled

RECENT_SKUS = 1000  # how many of the SKUs pages showed lately one reading covers

Read = Callable[[Sequence[str]], Awaitable[dict[str, int]]]
"""Asks inventory for the available units of some SKUs (at most PER_CALL)."""


class StockLevels:
    def __init__(
        self, seconds: float, read: Read, *, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self._read = read
        self._timer = timer
        self._levels: dict[str, int] = {}
        self._covered: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._reading: asyncio.Task[None] | None = None

    async def of(
        self, skus: Sequence[str], every_sku: Callable[[], Collection[str]]
    ) -> dict[str, int] | None:
        """Available units of `skus` (0 for a SKU inventory does not know); None when
        inventory cannot answer. `every_sku` names the SKUs one reading covers."""
        if not skus:
            return {}
        if self.seconds <= 0:
            try:
                return _complete(skus, await self._read_all(skus))
            except UNAVAILABLE as exc:
                log.warning("catalog.stock_unavailable", error=str(exc))
                return None
        age = self._timer() - self._read_at
        if age >= self.seconds or not self._covered.issuperset(skus):
            if self._reading is None:
                self._start(frozenset(every_sku()).union(skus))
            assert self._reading is not None
            try:
                # Shielded: a page that goes away does not cancel the reading others wait on.
                await asyncio.shield(self._reading)
            except UNAVAILABLE:
                return None  # logged by the reading
        elif age >= self.seconds * REFRESH_AHEAD and self._reading is None:
            self._start(frozenset(every_sku()))
        return _complete(skus, self._levels)

    def _start(self, skus: frozenset[str]) -> None:
        self._reading = asyncio.create_task(self._reading_of(skus))
        self._reading.add_done_callback(observe)

    async def _reading_of(self, skus: frozenset[str]) -> None:
        started = self._timer()
        try:
            self._levels = await self._read_all(sorted(skus))
            self._covered, self._read_at = skus, started
        except UNAVAILABLE as exc:
            log.warning("catalog.stock_unavailable", error=str(exc))
            raise
        finally:
            self._reading = None

    async def _read_all(self, skus: Sequence[str]) -> dict[str, int]:
        parts = await asyncio.gather(
            *(self._read(skus[i : i + PER_CALL]) for i in range(0, len(skus), PER_CALL))
        )
        return {sku: level for part in parts for sku, level in part.items()}


class RecentSkus:
    """The SKUs pages showed lately, the most recent `size` of them."""

    def __init__(self, size: int = RECENT_SKUS) -> None:
        self.size = size
        self._skus: OrderedDict[str, None] = OrderedDict()

    def add(self, skus: Sequence[str]) -> None:
        for sku in skus:
            self._skus[sku] = None
            self._skus.move_to_end(sku)
        while len(self._skus) > self.size:
            self._skus.popitem(last=False)

    def __call__(self) -> Collection[str]:
        return self._skus.keys()


def _complete(skus: Sequence[str], levels: dict[str, int]) -> dict[str, int]:
    return {sku: levels.get(sku, 0) for sku in skus}
