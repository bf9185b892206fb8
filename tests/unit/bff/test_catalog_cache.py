"""The BFF's read cache as pure logic: a clock the test moves, and an upstream that is a
function counting its calls (the real catalog behind it is tested in the integration
suite)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest

from bff.catalog_cache import ENTRY_OVERHEAD, Fetch, ReadCache, Upstream
from tests.unit.waiting import until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Upstreams:
    """Answers `status` with a body naming the key and how many calls came before."""

    def __init__(self, status: int = 200, *, delay: float = 0.0, size: int = 10) -> None:
        self.calls: Counter[str] = Counter()
        self.status = status
        self.delay = delay
        self.size = size

    def fetch(self, key: str) -> Fetch:
        async def answer(asked_at: float) -> Upstream:
            self.calls[key] += 1
            if self.delay:
                await asyncio.sleep(self.delay)
            body = f'"{key}#{self.calls[key]}"'.encode().ljust(self.size)
            return Upstream(self.status, body, asked_at)

        return answer


async def test_an_answer_is_kept_for_its_seconds_counted_from_when_it_was_asked() -> None:
    clock, upstream = Clock(), Upstreams()
    cache = ReadCache(1.0, 1_000_000, timer=clock)
    first = await cache.get("a", upstream.fetch("a"))
    clock.now += 0.9
    assert await cache.get("a", upstream.fetch("a")) is first
    clock.now += 0.1
    again = await cache.get("a", upstream.fetch("a"))
    assert again is not first and again.json == "a#2"
    assert upstream.calls["a"] == 2


async def test_concurrent_misses_share_one_upstream_call() -> None:
    outcomes: Counter[str] = Counter()
    upstream = Upstreams(delay=0.01)
    cache = ReadCache(1.0, 1_000_000, count=lambda outcome: outcomes.update([outcome]))
    answers = await asyncio.gather(*(cache.get("a", upstream.fetch("a")) for _ in range(20)))
    assert upstream.calls["a"] == 1
    assert all(answer is answers[0] for answer in answers)
    assert outcomes == {"miss": 1, "shared": 19}
    await cache.get("a", upstream.fetch("a"))
    assert outcomes["hit"] == 1


async def test_an_upstream_error_reaches_every_waiter_and_is_not_kept() -> None:
    calls = 0

    async def broken(asked_at: float) -> Upstream:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise ConnectionError("catalog away")

    cache = ReadCache(1.0, 1_000_000)
    results = await asyncio.gather(
        *(cache.get("a", broken) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1 and all(isinstance(r, ConnectionError) for r in results)
    with pytest.raises(ConnectionError):
        await cache.get("a", broken)
    assert calls == 2 and len(cache) == 0


async def test_only_successes_and_not_found_are_kept() -> None:
    for status, kept in ((200, True), (404, True), (422, False), (500, False), (503, False)):
        upstream = Upstreams(status)
        cache = ReadCache(1.0, 1_000_000)
        await cache.get("a", upstream.fetch("a"))
        await cache.get("a", upstream.fetch("a"))
        assert upstream.calls["a"] == (1 if kept else 2), status


async def test_the_bytes_held_stay_bounded_and_the_least_recently_used_go_first() -> None:
    upstream = Upstreams(size=1000)
    entry = 1000 + ENTRY_OVERHEAD
    cache = ReadCache(60.0, 5 * entry)
    for n in range(5):
        await cache.get(f"k{n}", upstream.fetch(f"k{n}"))
    await cache.get("k0", upstream.fetch("k0"))  # used again: k1 is now the oldest use
    for n in range(5, 50):
        await cache.get(f"k{n}", upstream.fetch(f"k{n}"))
        assert cache.bytes_held <= cache.max_bytes
    assert len(cache) == 5
    await cache.get("k49", upstream.fetch("k49"))
    assert upstream.calls["k49"] == 1
    await cache.get("k1", upstream.fetch("k1"))
    assert upstream.calls["k1"] == 2
    too_big = Upstreams(size=10 * entry)
    await cache.get("huge", too_big.fetch("huge"))  # answered, just not kept
    await cache.get("huge", too_big.fetch("huge"))
    assert too_big.calls["huge"] == 2 and cache.bytes_held <= cache.max_bytes


async def test_zero_seconds_keeps_nothing_but_still_shares_a_call_in_flight() -> None:
    upstream = Upstreams(delay=0.01)
    cache = ReadCache(0.0, 1_000_000)
    await asyncio.gather(*(cache.get("a", upstream.fetch("a")) for _ in range(5)))
    assert upstream.calls["a"] == 1
    await cache.get("a", upstream.fetch("a"))
    assert upstream.calls["a"] == 2 and len(cache) == 0


def began(upstream: Upstreams) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return upstream.calls["a"] > 0

    return check


async def test_a_caller_that_goes_away_does_not_cancel_the_call_others_wait_on() -> None:
    upstream = Upstreams(delay=0.05)
    cache = ReadCache(1.0, 1_000_000)
    first = asyncio.create_task(cache.get("a", upstream.fetch("a")))
    await until(began(upstream))  # the first caller's call is under way
    second = asyncio.create_task(cache.get("a", upstream.fetch("a")))
    await asyncio.sleep(0)
    first.cancel()
    answer = await second
    assert answer.json == "a#1" and upstream.calls["a"] == 1
    assert first.cancelled()
    assert (await cache.get("a", upstream.fetch("a"))) is answer
