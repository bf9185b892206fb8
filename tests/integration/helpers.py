"""Small helpers for integration tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from commerce.contracts import Envelope, Message, Topic
from commerce.platform.kafka import client_options
from commerce.platform.settings import Settings

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], bool],
    *,
    within: float = 30.0,
    every: float = 0.05,
) -> T:
    """Poll `probe` until `until(value)` holds; fail with the last value after `within` s."""
    deadline = time.monotonic() + within
    value = await probe()
    while not until(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {within}s; last value: {value!r}")
        await asyncio.sleep(every)
        value = await probe()
    return value


async def read_topic(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record currently in `topic`, all partitions, from the beginning."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for recs in batch.values():
                    records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def send(producer: Any, message: Message, *, correlation_id: str | None = None) -> Envelope:
    """Publish a message to its topic, keyed like the services key it."""
    envelope = Envelope.wrap(message, correlation_id=correlation_id or message.partition_key())
    key = message.partition_key()
    await producer.send_and_wait(
        message.TOPIC, envelope.to_bytes(), key=key.encode() if key else None
    )
    return envelope


async def events_for(settings: Settings, checkout_id: uuid.UUID) -> list[Message]:
    """Every checkout event published so far for one checkout, in order."""
    records = await read_topic(settings, Topic.CHECKOUT_EVENTS.value)
    found = []
    for record in records:
        envelope = Envelope.from_bytes(record.value)
        if envelope.payload.get("checkout_id") == str(checkout_id):
            found.append(envelope.open())
    return found


async def wait_for_event(
    settings: Settings, checkout_id: uuid.UUID, *types: type[Message], within: float = 30.0
) -> list[Message]:
    """Wait until an event of one of `types` exists for the checkout; return all its events."""
    return await eventually(
        lambda: events_for(settings, checkout_id),
        lambda events: any(isinstance(e, types) for e in events),
        within=within,
        every=0.1,
    )
