"""The waiter hub: a notification wakes the waiters of its key, and only them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Hashable, Sequence
from types import SimpleNamespace
from typing import cast

from commerce.checkout.waiting import CHANGES, MAX_WAIT_SECONDS, wait_until
from commerce.platform.service import ServiceRuntime
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


async def test_a_waiter_learns_what_changed_unless_a_notification_did_not_say() -> None:
    hub: Waiters[str] = Waiters()
    with hub.watch("c1") as watch:
        hub.notify("c1", hint="reserving")
        hub.notify("c1", hint="charging")
        assert await watch.wait(LONG) is True
        assert watch.hints() == ["reserving", "charging"]
        assert watch.hints() == []  # taken
        hub.notify("c1", hint="completed")
        hub.notify("c1")  # e.g. the sweeper, or a sibling process: it must read
        assert await watch.wait(LONG) is True
        assert watch.hints() is None


async def test_a_wait_for_the_outcome_reads_only_when_told_the_saga_may_have_one() -> None:
    """Changes whose notices say the saga moved to a state that is no outcome are not
    read; a notice that says nothing is."""
    runtime = cast(ServiceRuntime, SimpleNamespace(slots={}))  # all the hub needs
    key = uuid.uuid4()
    saga = {"state": "reserving"}
    reads: list[str] = []

    async def read() -> str:
        reads.append(saga["state"])
        return saga["state"]

    def worth_reading(_: str, states: Sequence[Hashable]) -> bool:
        return any(s in ("completed", "failed") for s in states)

    waiter = asyncio.create_task(
        wait_until(
            runtime,
            key,
            read,
            settled=lambda s: s in ("completed", "failed"),
            mark=lambda _: None,
            seconds=LONG,
            worth_reading=worth_reading,
        )
    )

    async def read_times(n: int) -> bool:
        return len(reads) == n

    await until(lambda: read_times(1))
    hub = CHANGES.of(runtime)
    for state in ("charging", "ordering"):
        hub.notify(key, hint=state)
        await asyncio.sleep(0.01)
    hub.notify(key)  # the sweeper, or a sibling process: read
    await until(lambda: read_times(2))
    saga["state"] = "completed"
    hub.notify(key, hint="completed")
    assert await asyncio.wait_for(waiter, LONG) == "completed"
    assert reads == ["reserving", "reserving", "completed"]


def test_the_client_asks_for_at_most_what_the_api_takes() -> None:
    assert api.MAX_WAIT_SECONDS == MAX_WAIT_SECONDS
    assert api.OUTCOME_WAIT_SECONDS <= api.MAX_WAIT_SECONDS
    long = api.checkout("c-1", wait=300)
    assert long.params == {"wait": MAX_WAIT_SECONDS, "until": "change"}
    assert long.timeout is not None and long.timeout > MAX_WAIT_SECONDS
    plain = api.checkout("c-1")
    assert plain.params is None and plain.timeout is None
