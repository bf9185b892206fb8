"""Wake-ups between the outbox relays and the consumers that run in one process.

With the embedded broker a consumer must fetch with a wait of a few milliseconds
(docs/adr/0002), so an idle consumer would poll the broker hundreds of times a second.
Instead an idle consumer pauses its partitions and fetches only when a relay in this
process has just published to one of its topics, or when its idle interval has passed
(for records published elsewhere). See docs/adr/0013.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

_waiting: dict[str, set[asyncio.Event]] = {}


def register(topics: Iterable[str], event: asyncio.Event) -> None:
    """Set `event` whenever something in this process publishes to one of `topics`."""
    for topic in topics:
        _waiting.setdefault(topic, set()).add(event)


def unregister(topics: Iterable[str], event: asyncio.Event) -> None:
    for topic in topics:
        events = _waiting.get(topic)
        if events is not None:
            events.discard(event)
            if not events:
                del _waiting[topic]


def published(topics: Iterable[str]) -> None:
    """Records were just published (and acknowledged) to `topics`."""
    for topic in set(topics):
        for event in _waiting.get(topic, ()):
            event.set()
