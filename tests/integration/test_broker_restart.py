"""A broker that restarts empty loses nothing: the outboxes send again what it held.

Each test runs its own embedded broker (the session's one is shared by other tests) and
kills it with SIGKILL; PostgreSQL is the session's. See docs/adr/0020.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from commerce.platform import migrations
from commerce.platform.db import Database
from commerce.platform.embedded import EmbeddedBroker
from commerce.platform.incarnation import MARKER_PREFIX, BrokerWatch
from commerce.platform.kafka import client_options, ensure_topics, make_producer
from commerce.platform.service import Service, ServiceRuntime
from commerce.platform.settings import Settings
from tests.integration import ledger
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

TOPIC = "test.ledger.restart"


def publisher_service(topic: str = TOPIC) -> Service:
    """The ledger's tables and relay, without its consumer: a service that only publishes."""
    return Service(
        name="ledger-publisher", metadata=ledger.metadata,
        migrations=ledger.ledger_service(topic).migrations,
    )  # fmt: skip


@asynccontextmanager
async def running(settings: Settings, service: Service, url: str) -> AsyncIterator[ServiceRuntime]:
    producer = make_producer(settings)
    await producer.start()
    runtime = ServiceRuntime(service, settings, producer, database_url=url)
    await runtime.start()
    try:
        await asyncio.wait_for(runtime.wait_consuming(), 30)
        yield runtime
    finally:
        await runtime.stop()
        await producer.stop()


async def scalar(url: str, query: Any) -> int:
    db = Database(url)
    try:
        async with db.sessions() as session:
            return int(await session.scalar(query) or 0)
    finally:
        await db.dispose()


async def entries(url: str) -> int:
    return await scalar(url, select(func.count()).select_from(ledger.entries))


async def unsent(url: str) -> int:
    outbox = ledger.metadata.tables["outbox"]
    return await scalar(
        url, select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    )


async def topic_names(settings: Settings) -> set[str]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def credit(
    runtime: ServiceRuntime, first: int, count: int, topic: str = TOPIC, accounts: int = 5
) -> None:
    async with runtime.db.transaction() as session:
        for i in range(first, first + count):
            await runtime.outbox.add(
                session, ledger.Credit(account=f"acct-{i % accounts}", amount=1), topic=topic
            )


@pytest.fixture
async def broker(tmp_path: Path, infra: Settings) -> AsyncIterator[tuple[EmbeddedBroker, Settings]]:
    own = EmbeddedBroker(tmp_path / "broker")
    own.start()
    settings = infra.model_copy(
        update={"kafka_bootstrap_servers": own.bootstrap_servers, "broker_watch_seconds": 0.2}
    )
    await ensure_topics(settings, [TOPIC, TOPIC + ".dlq"], partitions=3)
    try:
        yield own, settings
    finally:
        own.stop()


async def test_messages_sent_before_a_broker_restart_reach_a_consumer_started_after(
    broker: tuple[EmbeddedBroker, Settings], new_database: Callable[[str], Awaitable[str]]
) -> None:
    own, settings = broker
    pub_url, sub_url = await new_database("pub"), await new_database("sub")
    for url in (pub_url, sub_url):
        await migrations.upgrade(ledger.ledger_service(TOPIC).migrations, url, ledger.metadata)
    consumer = ledger.ledger_service(TOPIC, "ledger-restart")

    async with running(settings, publisher_service(), pub_url) as publisher:
        born = await publisher.watch.wait_known(30)
        assert born is not None and born.marker.startswith(MARKER_PREFIX)
        # 40 credits consumed before the restart, 60 sent while the consumer is down
        async with running(settings, consumer, sub_url):
            await credit(publisher, 0, 40)
            await eventually(lambda: entries(sub_url), lambda n: n >= 40)
        await credit(publisher, 40, 60)
        await eventually(lambda: unsent(pub_url), lambda n: n == 0)

        own.kill()  # kill -9: the 60 records in the broker's memory are gone
        own.start()
        await ensure_topics(settings, [TOPIC, TOPIC + ".dlq"], partitions=3)
        reborn = await eventually(
            lambda: publisher.watch.wait_known(1),
            lambda i: i is not None and i.marker != born.marker,
        )
        assert reborn is not None and reborn.born > born.born
        await eventually(
            lambda: asyncio.sleep(0, publisher.relay._replayed_for),
            lambda marker: marker == reborn.marker,
        )
        await eventually(lambda: unsent(pub_url), lambda n: n == 0)

        async with running(settings, consumer, sub_url):
            await eventually(lambda: entries(sub_url), lambda n: n >= 100)
            await credit(publisher, 100, 10)  # and the flow goes on
            await eventually(lambda: entries(sub_url), lambda n: n >= 110)
    inbox = ledger.metadata.tables["inbox"]
    assert await entries(sub_url) == 110  # every credit once: the repeats were dropped
    assert await scalar(sub_url, select(func.count()).select_from(inbox)) == 110


async def test_a_running_consumer_reads_again_from_the_start_after_a_restart(
    broker: tuple[EmbeddedBroker, Settings], new_database: Callable[[str], Awaitable[str]]
) -> None:
    """The consumer stays up across the restart: the group's offsets are gone with the
    broker, and what the relay sends again must not be skipped at old offsets."""
    own, settings = broker
    pub_url, sub_url = await new_database("pub"), await new_database("sub")
    for url in (pub_url, sub_url):
        await migrations.upgrade(ledger.ledger_service(TOPIC).migrations, url, ledger.metadata)
    ledger.BLOCKED_ACCOUNTS.clear()
    async with (
        running(settings, publisher_service(), pub_url) as publisher,
        running(settings, ledger.ledger_service(TOPIC, "ledger-stays"), sub_url) as sub,
    ):
        await publisher.watch.wait_known(30)
        await credit(publisher, 0, 200)
        await eventually(lambda: entries(sub_url), lambda n: n >= 200)
        own.kill()
        own.start()
        await ensure_topics(settings, [TOPIC, TOPIC + ".dlq"], partitions=3)
        await credit(publisher, 200, 20)
        await eventually(lambda: entries(sub_url), lambda n: n >= 220, within=60)
        # every consumer of the process saw the new incarnation
        assert sub.watch.generation >= 2
    assert await entries(sub_url) == 220


async def test_a_watch_on_a_broker_that_keeps_its_data_sees_one_incarnation(
    broker: tuple[EmbeddedBroker, Settings],
) -> None:
    _, settings = broker
    producer = make_producer(settings)
    await producer.start()
    try:
        first, second = BrokerWatch(settings, producer), BrokerWatch(settings, producer)
        a = await first.check()
        b = await second.check()
        assert a == b and await first.check() == a and first.generation == 1
    finally:
        await producer.stop()


async def test_a_topic_asked_about_before_it_is_recreated_keeps_its_partitions(
    broker: tuple[EmbeddedBroker, Settings], new_database: Callable[[str], Awaitable[str]]
) -> None:
    """After a restart the clients ask the empty broker about their topics before the
    topics are created again. Asking must not create them (the broker's default is 4
    partitions, not the 6 configured): a consumer assigned 4 of 6 partitions would never
    read what the relay publishes to the other two. And the consumer, which rejoined while
    the topic was missing and was assigned none of it, must be assigned it once it is back
    (docs/adr/0044)."""
    own, settings = broker
    topic = f"{TOPIC}.six"
    await ensure_topics(settings, [topic, topic + ".dlq"], partitions=6)
    pub_url, sub_url = await new_database("pub"), await new_database("sub")
    for url in (pub_url, sub_url):
        await migrations.upgrade(ledger.ledger_service(topic).migrations, url, ledger.metadata)
    ledger.BLOCKED_ACCOUNTS.clear()
    async with (
        running(settings, publisher_service(topic), pub_url) as pub,
        running(settings, ledger.ledger_service(topic, "ledger-six"), sub_url),
    ):
        await pub.watch.wait_known(30)
        await credit(pub, 0, 48, topic, accounts=24)
        await eventually(lambda: entries(sub_url), lambda n: n >= 48)
        own.kill()
        own.start()
        await asyncio.sleep(3)  # the clients reconnect and ask about their topics
        assert topic not in await topic_names(settings)  # asking did not create it
        await ensure_topics(settings, [topic, topic + ".dlq"], partitions=6)
        assert len(await pub.producer.partitions_for(topic)) == 6
        await credit(pub, 48, 48, topic, accounts=24)
        await eventually(lambda: entries(sub_url), lambda n: n >= 96, within=60)
    assert await entries(sub_url) == 96
