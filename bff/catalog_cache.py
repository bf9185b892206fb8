"""A short-lived cache of the catalog's GET answers, kept in the BFF (see ADR 14).

The catalog's answers are the same for every caller (no user data, no auth), so the BFF
keeps each one for `GATEWAY_BFF_CATALOG_CACHE_SECONDS` (default 1 s) and hands the bytes
the catalog sent straight back to the client: no parsing, no re-encoding. Concurrent
misses for the same request share one upstream call. The JSON is parsed only when the
BFF itself reads an answer (a SKU's price for the cart), and then once per entry.

Availability shown through the BFF is at most `CATALOG_STOCK_CACHE_SECONDS` (the
catalog's own stock levels) plus `GATEWAY_BFF_CATALOG_CACHE_SECONDS` old; the checkout's
reservation is what decides whether stock is there.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cachetools import TLRUCache

from commerce.platform.tasks import observe

CACHEABLE = (200, 404)  # an unknown product stays unknown until the catalog changes
ENTRY_OVERHEAD = 256  # bytes counted per entry on top of its body and key


@dataclass(eq=False)
class Upstream:
    """One answer of the catalog: status, body as sent, and when it was asked for."""

    status: int
    body: bytes
    asked_at: float
    key_size: int = field(default=0)

    @cached_property
    def json(self) -> Any:
        """The body parsed, once per answer; shared by every reader, so never mutate it."""
        return json.loads(self.body)

    @property
    def size(self) -> int:
        return len(self.body) + self.key_size + ENTRY_OVERHEAD


Fetch = Callable[[float], Awaitable[Upstream]]
"""Asks upstream; given the monotonic time the request is sent, returns its answer."""


class ReadCache:
    """Upstream answers by request, each kept `seconds` from the moment it was asked for,
    at most `max_bytes` of them (least recently used go first); one upstream call per
    key at a time, whoever else asks meanwhile waits for that call's answer."""

    def __init__(
        self,
        seconds: float,
        max_bytes: float,
        *,
        timer: Callable[[], float] = time.monotonic,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self.seconds = seconds
        self._timer = timer
        self._count = count or (lambda outcome: None)
        self._entries: TLRUCache[Hashable, Upstream] = TLRUCache(
            max_bytes, ttu=self._expires, timer=timer, getsizeof=lambda answer: answer.size
        )
        self._pending: dict[Hashable, asyncio.Task[Upstream]] = {}

    def _expires(self, key: Hashable, answer: Upstream, now: float) -> float:
        # From when the request was sent, not when the answer arrived: the bound holds
        # for answers that took a while.
        return answer.asked_at + self.seconds

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes_held(self) -> float:
        return self._entries.currsize

    @property
    def max_bytes(self) -> float:
        return self._entries.maxsize

    async def get(self, key: Hashable, fetch: Fetch) -> Upstream:
        """The fresh answer for `key`, asking upstream only if none is kept or on its way.
        An upstream error reaches every caller waiting on that call, and is not kept."""
        found = self._entries.get(key)
        if found is not None:
            self._count("hit")
            return found
        pending = self._pending.get(key)
        if pending is None:
            self._count("miss")
            pending = asyncio.create_task(self._fill(key, fetch))
            pending.add_done_callback(observe)
            self._pending[key] = pending
        else:
            self._count("shared")
        # Shielded: a caller that goes away does not cancel the call the others wait on.
        return await asyncio.shield(pending)

    async def _fill(self, key: Hashable, fetch: Fetch) -> Upstream:
        try:
            answer = await fetch(self._timer())
            if self.seconds > 0 and answer.status in CACHEABLE and answer.size <= self.max_bytes:
                # TLRUCache skips an answer that is already past its time, and drops the
                # least recently used ones once the bytes held would pass `max_bytes`.
                self._entries[key] = answer
            return answer
        finally:
            del self._pending[key]
