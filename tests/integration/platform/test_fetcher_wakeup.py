"""aiokafka's fetch routine is woken when a broker's in-flight mark is cleared (docs/adr/0047).

The race is made on purpose: the routine runs while the broker is still marked as having
a request in flight (a request task that finished, whose done-callback has not run yet),
so it skips the paused partition without waiting for it to be resumed and sleeps for
`consumer_timeout_ms`. Then the partition is resumed and the mark cleared, as that
callback does, and a record is published: the consumer gets it at once with the mark's
set in place, and only once the routine's sleep ends without it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from aiokafka import TopicPartition

from commerce.platform.kafka import ensure_topics, make_consumer, wake_fetcher_when_nodes_free
from commerce.platform.settings import Settings

pytestmark = pytest.mark.integration

SLEEP_MS = 6000  # the routine's longest sleep in this test (`consumer_timeout_ms`)


async def _record_after_a_stale_mark(infra: Settings, producer: Any, *, woken: bool) -> float:
    """Seconds from publishing a record to the consumer getting it, after the race."""
    topic = f"fetcher-wakeup-{uuid.uuid4().hex[:8]}"
    await ensure_topics(infra, [topic], partitions=1)
    settings = infra.model_copy(update={"kafka_consumer_timeout_ms": SLEEP_MS})
    consumer = make_consumer(settings, topic, group_id=f"test-{topic}")
    await consumer.start()
    try:
        if woken:
            wake_fetcher_when_nodes_free(consumer)
        tp = TopicPartition(topic, 0)
        deadline = time.monotonic() + 30
        while tp not in consumer.assignment():
            assert time.monotonic() < deadline, "never assigned"
            await consumer.getmany(timeout_ms=100)
        consumer.pause(tp)
        await asyncio.sleep(0.3)  # the routine now waits for the partition to be resumed
        fetcher = consumer._fetcher
        node = consumer._client.cluster.leader_for_partition(tp)
        fetcher._in_flight.add(node)  # a request to it just finished, its callback not run
        fetcher._wait_consume_future.set_result(None)  # something else wakes the routine
        await asyncio.sleep(0.3)  # it skipped the partition: nothing of it is waited for
        consumer.resume(tp)
        fetcher._in_flight.discard(node)  # the finished request's callback
        await producer.send_and_wait(topic, b"after the race")
        sent = time.monotonic()
        while not (batch := await consumer.getmany(timeout_ms=100)):
            assert time.monotonic() - sent < 30, "the record never came"
        assert [r.value for records in batch.values() for r in records] == [b"after the race"]
        return time.monotonic() - sent
    finally:
        await consumer.stop()


async def test_a_cleared_in_flight_mark_wakes_the_fetch_routine(
    infra: Settings, producer: Any
) -> None:
    assert await _record_after_a_stale_mark(infra, producer, woken=True) < 2.0
    # without the waking set the routine sleeps out the rest of `consumer_timeout_ms`
    assert await _record_after_a_stale_mark(infra, producer, woken=False) > 4.0
