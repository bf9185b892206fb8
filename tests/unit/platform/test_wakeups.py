"""Publishes wake consumers in this process and, under `up --processes N`, in its siblings."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from commerce.checkout import waiting
from commerce.platform import wakeups

SIBLING = """
import asyncio
from commerce.platform import wakeups
from commerce.platform.settings import Settings

async def main():
    settings = Settings()  # the sockets and this one's index, from its environment
    assert wakeups.join_siblings(settings.wake_sockets, settings.wake_index)
    wakeups.published(
        ["orders.events", "orders.events", ("cart.events", 3)], {("cart.events", 3): 7}
    )
    wakeups.changed("checkout", ["c-1", "c-2"])
    wakeups.leave_siblings()

asyncio.run(main())
"""


SAGA_SIBLING = """
import asyncio, sys, uuid
from commerce.checkout import waiting
from commerce.platform import wakeups
from commerce.platform.settings import Settings

async def main():
    settings = Settings()
    assert wakeups.join_siblings(settings.wake_sockets, settings.wake_index)
    waiting.notify(None, [uuid.UUID(sys.argv[1])])  # after its orchestrator's commit
    wakeups.leave_siblings()

asyncio.run(main())
"""


@pytest.fixture
async def siblings(tmp_path: Path) -> AsyncIterator[list[str]]:
    paths = [str(tmp_path / "0"), str(tmp_path / "1")]
    try:
        yield paths
    finally:
        wakeups.leave_siblings()  # in the (session's) loop: its reader goes too


async def test_a_local_publish_wakes_only_the_consumers_of_its_topics() -> None:
    orders, carts = asyncio.Event(), asyncio.Event()
    wakeups.register(["orders.events"], orders)
    wakeups.register(["cart.events"], carts)
    try:
        wakeups.published(["orders.events"])
        assert orders.is_set() and not carts.is_set()
    finally:
        wakeups.unregister(["orders.events"], orders)
        wakeups.unregister(["cart.events"], carts)


async def test_a_publish_names_the_partitions_it_went_to() -> None:
    """A consumer learns which partitions to fetch; a topic alone means all of them."""
    orders, carts = asyncio.Event(), asyncio.Event()
    named: set[tuple[str, int]] = set()
    wakeups.register(["orders.events"], orders, named)
    wakeups.register(["cart.events"], carts)
    try:
        wakeups.published([("orders.events", 2), ("orders.events", 5), ("cart.events", 1)])
        assert orders.is_set() and carts.is_set()
        assert named == {("orders.events", 2), ("orders.events", 5)}
        wakeups.published(["orders.events"])
        assert ("orders.events", wakeups.ALL_PARTITIONS) in named
    finally:
        wakeups.unregister(["orders.events"], orders)
        wakeups.unregister(["cart.events"], carts)


async def test_a_publish_of_types_a_consumer_does_not_want_does_not_wake_it() -> None:
    """A consumer that says what it wants is woken by a publish with at least one record
    it wants or of an unknown type, not by one of only other types; one that says nothing
    is woken by any."""
    picky, any_type = asyncio.Event(), asyncio.Event()
    named: set[tuple[str, int]] = set()
    wakeups.register(
        ["checkout.events"], picky, named, lambda topic, kind: kind == "CheckoutCompleted"
    )
    wakeups.register(["checkout.events"], any_type)
    try:
        target = ("checkout.events", 1)
        wakeups.published([target], types={target: {"InventoryReserved", "PaymentProcessed"}})
        assert any_type.is_set() and not picky.is_set() and not named
        for published in ({"PaymentProcessed", "CheckoutCompleted"}, {"OrderCreated", None}):
            picky.clear()
            wakeups.published([target], types={target: published})
            assert picky.is_set() and named == {target}
            named.clear()
        picky.clear()
        wakeups.published([target])  # types not known (e.g. a sibling's wake-up): all
        assert picky.is_set()
    finally:
        wakeups.unregister(["checkout.events"], picky)
        wakeups.unregister(["checkout.events"], any_type)


async def test_a_publish_tells_where_its_partitions_end_until_the_broker_is_new() -> None:
    """The furthest end seen counts (relays' acknowledgements may come in any order)."""
    wakeups.forget_ends()  # what relays of earlier tests in this process published
    try:
        assert wakeups.end("orders.events", 2) == 0
        wakeups.published([("orders.events", 2)], {("orders.events", 2): 12})
        wakeups.published([("orders.events", 2)], {("orders.events", 2): 9})
        wakeups.published(["orders.events"])  # a topic alone says nothing of ends
        assert wakeups.end("orders.events", 2) == 12
        assert wakeups.end("orders.events", 1) == 0
        wakeups.forget_ends()  # the broker restarted empty
        assert wakeups.end("orders.events", 2) == 0
    finally:
        wakeups.forget_ends()


async def test_a_siblings_publish_wakes_the_consumers_here(siblings: list[str]) -> None:
    assert wakeups.join_siblings(siblings, 0)
    assert not wakeups.join_siblings(siblings, 0)  # once per process
    orders, carts, extra = asyncio.Event(), asyncio.Event(), asyncio.Event()
    named: set[tuple[str, int]] = set()
    wakeups.register(["orders.events"], orders)
    wakeups.register(["cart.events"], carts, named)
    wakeups.register(["refunds.events"], extra)
    env = {**os.environ, wakeups.SIBLINGS_ENV: os.pathsep.join(siblings), wakeups.INDEX_ENV: "1"}
    changes: list[str] = []
    all_changed = asyncio.Event()

    def changed(key: str) -> None:
        changes.append(key)
        if len(changes) == 2:
            all_changed.set()

    wakeups.on_change("checkout", changed)
    try:
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", SIBLING, env=env)
        assert await asyncio.wait_for(child.wait(), 60) == 0
        await asyncio.wait_for(orders.wait(), 10)
        await asyncio.wait_for(carts.wait(), 10)
        assert named == {("cart.events", 3)}  # the partition crossed with the topic
        assert wakeups.end("cart.events", 3) == 7  # and where it ends
        assert not extra.is_set()
        await asyncio.wait_for(all_changed.wait(), 10)  # a change, not a topic
        assert sorted(changes) == ["c-1", "c-2"]
    finally:
        wakeups.forget_ends()
        wakeups.off_change("checkout", changed)
        wakeups.unregister(["refunds.events"], extra)
        wakeups.unregister(["orders.events"], orders)
        wakeups.unregister(["cart.events"], carts)


TYPED_SIBLING = """
import asyncio
from commerce.platform import wakeups
from commerce.platform.settings import Settings

async def main():
    settings = Settings()
    assert wakeups.join_siblings(settings.wake_sockets, settings.wake_index)
    target = ("checkout.events", 1)
    wakeups.published([target], {target: 5}, {target: {"InventoryReserved"}})
    wakeups.leave_siblings()

asyncio.run(main())
"""


async def test_a_siblings_publish_wakes_only_the_consumers_that_want_its_types(
    siblings: list[str],
) -> None:
    """The types of a sibling's publish cross with it: a consumer here that wants none of
    them stays asleep, as it does for a publish of this process (docs/adr/0048)."""
    assert wakeups.join_siblings(siblings, 0)
    wanting, picky, any_type = asyncio.Event(), asyncio.Event(), asyncio.Event()
    named: set[tuple[str, int]] = set()
    topic = ["checkout.events"]
    wakeups.register(topic, wanting, named, lambda _, kind: kind == "InventoryReserved")
    wakeups.register(topic, picky, set(), lambda _, kind: kind == "CheckoutCompleted")
    wakeups.register(topic, any_type)
    env = {**os.environ, wakeups.SIBLINGS_ENV: os.pathsep.join(siblings), wakeups.INDEX_ENV: "1"}
    try:
        child = await asyncio.create_subprocess_exec(sys.executable, "-c", TYPED_SIBLING, env=env)
        assert await asyncio.wait_for(child.wait(), 60) == 0
        await asyncio.wait_for(wanting.wait(), 10)  # one datagram wakes all it wakes
        assert any_type.is_set() and not picky.is_set()
        assert named == {("checkout.events", 1)}
        assert wakeups.end("checkout.events", 1) == 5
    finally:
        wakeups.forget_ends()
        for event in (wanting, picky, any_type):
            wakeups.unregister(topic, event)


def test_a_wake_up_line_carries_types_only_when_all_are_known() -> None:
    line = wakeups._line("t", 2, 9, {"B", "A"})
    assert line == "t 2 9 A,B"
    assert wakeups._parse(line) == ("t", 2, 9, {"A", "B"})
    assert wakeups._line("t", 2, 9, {"A", None}) == "t 2 9"  # one unknown: wakes all
    assert wakeups._parse("t 2 9") == ("t", 2, 9, None)
    assert wakeups._parse("t") == ("t", wakeups.ALL_PARTITIONS, None, None)


async def test_a_publish_here_reaches_a_listening_sibling(siblings: list[str]) -> None:
    assert wakeups.join_siblings(siblings, 0)
    listener = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
        f"s.bind({siblings[1]!r}); print('ready', flush=True); "
        "print(s.recv(1000).decode(), flush=True)",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert listener.stdout is not None
        ready = await asyncio.wait_for(listener.stdout.readline(), 60)
        assert ready.decode().strip() == "ready"
        wakeups.published(["checkout.payment-command", "orders.events"])
        line = await asyncio.wait_for(listener.stdout.readline(), 10)
        assert line.decode().strip() == "checkout.payment-command"
    finally:
        if listener.returncode is None:
            listener.kill()
        await listener.wait()


async def test_a_saga_changed_in_a_sibling_wakes_its_waiter_here(siblings: list[str]) -> None:
    """A replica's orchestrator commits a saga's change; the request waiting for that saga
    in this process wakes, and one waiting for another saga does not (docs/adr/0038)."""
    assert wakeups.join_siblings(siblings, 0)
    hub = waiting.new_hub()
    moved, other = uuid.uuid4(), uuid.uuid4()
    env = {**os.environ, wakeups.SIBLINGS_ENV: os.pathsep.join(siblings), wakeups.INDEX_ENV: "1"}
    with hub.watch(moved) as watch, hub.watch(other) as untouched:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SAGA_SIBLING, str(moved), env=env
        )
        assert await asyncio.wait_for(child.wait(), 60) == 0
        assert await watch.wait(10)  # woken, not timed out
        assert not await untouched.wait(0)


async def test_without_siblings_nothing_is_joined(siblings: list[str]) -> None:
    assert not wakeups.join_siblings([], 0)
    wakeups.published(["orders.events"])  # no socket: only the local wake-up


async def test_a_sibling_with_a_full_queue_gets_every_topic_later(siblings: list[str]) -> None:
    """Linux queues few datagrams per socket: what a busy sibling's full queue refuses is
    merged and sent again, never dropped (a dropped wake-up costs a whole idle interval)."""
    assert wakeups.join_siblings(siblings, 0)
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    busy.bind(siblings[1])
    busy.setblocking(False)
    try:
        topics = {f"topic-{n}" for n in range(60)}
        for topic in sorted(topics):  # more than the queue holds, while nobody reads
            wakeups.published([topic])
        received: set[str] = set()
        deadline = asyncio.get_running_loop().time() + 10
        while received != topics:
            assert asyncio.get_running_loop().time() < deadline, topics - received
            try:
                received.update(busy.recv(65536).decode().split("\n"))
            except BlockingIOError:
                await asyncio.sleep(0.001)
    finally:
        busy.close()
