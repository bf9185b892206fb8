"""Requests waiting for a change to one thing (a checkout, say), woken when it changes.

A `Waiters` hub lives on the runtime that makes the change (a `Slot`): its writer calls
`notify(key)` once the change has committed, and a request that waits for that key
(`watch`) wakes at once instead of reading again on a timer. The hub holds no state of
its own beyond who waits: a woken waiter reads what changed from the database, so a
notification that arrives for nothing, or twice, costs one read and is never wrong. A
writer may say what the change was (`hint`, e.g. a checkout's new state): a waiter that
learns from the hints that none of the changes can end its wait need not read at all.

Only changes made in this process notify. A waiter therefore bounds each wait
(`Watch.wait(seconds)`) and reads again after it: the safety net for a change another
process made (docs/adr/0038).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Watch:
    """One waiter's view of its key: set when the key was notified since the last `wait`."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self._hints: list[Hashable] = []
        self._unhinted = False

    def set(self, hint: Hashable | None = None) -> None:
        if hint is None:
            self._unhinted = True
        else:
            self._hints.append(hint)
        self._changed.set()

    def hints(self) -> list[Hashable] | None:
        """What the notifications since the last call said the changes were, or None
        when one of them did not say (the waiter must read); cleared by the call."""
        unhinted, hints = self._unhinted, self._hints
        self._unhinted, self._hints = False, []
        return None if unhinted else hints

    async def wait(self, seconds: float) -> bool:
        """Wait until the key is notified (True) or `seconds` pass (False). A
        notification that came before this call counts: it returns at once, and the next
        call waits for a newer one."""
        if seconds > 0 and not self._changed.is_set():
            try:
                await asyncio.wait_for(self._changed.wait(), seconds)
            except TimeoutError:
                return False
        notified = self._changed.is_set()
        self._changed.clear()
        return notified


class Waiters(Generic[K]):
    """Who waits for which key; `notify` wakes every waiter of a key."""

    def __init__(self) -> None:
        self._waiting: dict[K, set[Watch]] = {}

    @contextmanager
    def watch(self, key: K) -> Iterator[Watch]:
        """Wait for `key` while the block runs. Enter it BEFORE reading the current state,
        so a change committed between the read and the wait is not missed."""
        watch = Watch()
        self._waiting.setdefault(key, set()).add(watch)
        try:
            yield watch
        finally:
            watchers = self._waiting.get(key)
            if watchers is not None:
                watchers.discard(watch)
                if not watchers:
                    del self._waiting[key]

    def notify(self, *keys: K, hint: Hashable | None = None) -> None:
        """Wake every waiter of each key (none waiting: nothing happens), telling them
        `hint`, what the change was, when the writer knows it."""
        for key in keys:
            for watch in self._waiting.get(key, ()):
                watch.set(hint)

    def waiting(self, key: K) -> int:
        """How many wait for `key` (for tests and metrics)."""
        return len(self._waiting.get(key, ()))
