"""The waiter hub: a notification wakes the waiters of its key, and only them."""

from __future__ import annotations

import asyncio
import uuid

from commerce.checkout.waiting import MAX_WAIT_SECONDS
from commerce.platform.waiters import Waiters
from shopapi import client as api
from tests.unit.waiting import until

LONG = 60.0  # a wait that would hang the test if the hub failed to wake it


async def test_a_notification_wakes_every_waiter_of_its_key() -> None:
    hub: Waiters[uuid.UUID] = Waiters()
    key, other = uuid.uuid4(), uuid.uuid4()
    with hub.watch(key) as first, hub.watch(key) as second, hub.watch(other) as elsewhere:
        waiting = [asyncio.create_task(w.wait(LONG)) for w in (first, second)]
        assert hub.waiting(key) == 2
        hub.notify(key)
        assert await asyncio.gather(*waiting) == [True, True]
        assert await elsewhere.wait(0) is False  # another key's waiter was not woken
    assert hub.waiting(key) == hub.waiting(other) == 0  # leaving the block forgets them


async def test_a_notification_before_the_wait_is_not_lost_and_counts_once() -> None:
    hub: Waiters[str] = Waiters()
    with hub.watch("c1") as watch:
        hub.notify("c1")  # e.g. a commit between the first read and the wait
        assert await watch.wait(LONG) is True  # returns at once
        assert await watch.wait(0) is False  # the next wait needs a newer notification
        hub.notify("c1", "c1")
        assert await watch.wait(LONG) is True


async def test_a_wait_without_a_notification_ends_false() -> None:
    hub: Waiters[str] = Waiters()
    with hub.watch("c1") as watch:
        hub.notify("c2")
        assert await watch.wait(0.001) is False


async def test_a_waiter_woken_while_it_waits() -> None:
    hub: Waiters[str] = Waiters()
    with hub.watch("c1") as watch:
        task = asyncio.create_task(watch.wait(LONG))

        async def parked() -> bool:
            await asyncio.sleep(0)
            return not task.done()

        await until(parked)
        hub.notify("c1")
        assert await task is True


def test_the_client_asks_for_at_most_what_the_api_takes() -> None:
    assert api.MAX_WAIT_SECONDS == MAX_WAIT_SECONDS
    assert api.OUTCOME_WAIT_SECONDS <= api.MAX_WAIT_SECONDS
    long = api.checkout("c-1", wait=300)
    assert long.params == {"wait": MAX_WAIT_SECONDS, "until": "change"}
    assert long.timeout is not None and long.timeout > MAX_WAIT_SECONDS
    plain = api.checkout("c-1")
    assert plain.params is None and plain.timeout is None
