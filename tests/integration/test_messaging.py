"""The messaging core against the real broker and database: outbox, inbox, DLQ, crashes."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiokafka import TopicPartition
from sqlalchemy import func, select

from commerce.contracts import Envelope
from commerce.platform import migrations, wakeups
from commerce.platform.consumer import _answered, _highwater
from commerce.platform.db import Database
from commerce.platform.dlq import list_dead_letters, replay
from commerce.platform.kafka import make_consumer, make_producer
from commerce.platform.outbox import Outbox, OutboxRelay
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import Settings
from tests.integration import ledger
from tests.integration.helpers import eventually, read_topic

pytestmark = pytest.mark.integration


async def ledger_db(new_database: Callable[[str], Awaitable[str]]) -> str:
    url = await new_database("ledger")
    await migrations.upgrade(ledger.ledger_service("unused").migrations, url, ledger.metadata)
    return url


@asynccontextmanager
async def running_ledger(
    infra: Settings, url: str, topic: str, name: str = "ledger", **overrides: Any
) -> AsyncIterator[ServiceRuntime]:
    settings = infra.model_copy(update=overrides)
    producer = make_producer(settings)
    await producer.start()
    runtime = ServiceRuntime(
        ledger.ledger_service(topic, name), settings, producer, database_url=url
    )
    await runtime.start()
    try:
        await asyncio.wait_for(runtime.wait_consuming(), 30)
        yield runtime
    finally:
        await runtime.stop()
        await producer.stop()


def ignored(runtime: ServiceRuntime, topic: str, type_name: str) -> Callable[[], Awaitable[float]]:
    """A probe for `eventually`: the records of `type_name` in `topic` the runtime's consumer
    passed over."""

    async def probe() -> float:
        sample = runtime.metrics.registry.get_sample_value(
            "agentshop_messages_consumed_total",
            {"topic": topic, "type": type_name, "outcome": "ignored"},
        )
        return sample or 0.0

    return probe


async def balances(url: str) -> dict[str, tuple[int, int]]:
    db = Database(url)
    try:
        async with db.sessions() as session:
            return await ledger.balances(session)
    finally:
        await db.dispose()


async def count(url: str, table: str) -> int:
    db = Database(url)
    try:
        async with db.sessions() as session:
            t = ledger.metadata.tables[table]
            return int(await session.scalar(select(func.count()).select_from(t)) or 0)
    finally:
        await db.dispose()


async def test_migrations_are_idempotent(new_database: Callable[[str], Awaitable[str]]) -> None:
    url = await ledger_db(new_database)
    service = ledger.ledger_service("unused")
    await migrations.upgrade(service.migrations, url, ledger.metadata)
    assert await count(url, "entries") == 0


async def test_rolled_back_outbox_row_is_never_published(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    url = await ledger_db(new_database)
    topic = await new_topic()
    service = ledger.ledger_service(topic)
    db = Database(url)
    outbox = Outbox(service.tables)
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await outbox.add(session, ledger.Credit(account="rolled-back", amount=1), topic=topic)
            raise RuntimeError("business rule failed after the message was written")
    async with db.transaction() as session:
        await outbox.add(session, ledger.Credit(account="committed", amount=2), topic=topic)

    producer = make_producer(infra)
    await producer.start()
    try:
        relay = OutboxRelay("ledger", db, service.tables, producer, runtime_metrics())
        assert await relay.publish_pending() == 1
        assert await relay.publish_pending() == 0
        assert await relay.backlog() == 0
    finally:
        await producer.stop()
        await db.dispose()

    records = await read_topic(infra, topic)
    accounts = [Envelope.from_bytes(r.value).payload["account"] for r in records]
    assert accounts == ["committed"]


def runtime_metrics() -> Any:
    from commerce.platform.metrics import ServiceMetrics

    return ServiceMetrics(f"test-{uuid.uuid4().hex[:6]}")


async def test_message_delivered_twice_changes_state_once(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    url = await ledger_db(new_database)
    topic = await new_topic()
    envelope = Envelope.wrap(ledger.Credit(account="alice", amount=5), correlation_id="c-1")
    for _ in range(2):
        await producer.send_and_wait(topic, envelope.to_bytes(), key=b"alice")
    later = Envelope.wrap(ledger.Credit(account="alice", amount=7))
    await producer.send_and_wait(topic, later.to_bytes(), key=b"alice")

    async with running_ledger(infra, url, topic) as runtime:
        assert await eventually(
            lambda: balances(url), lambda b: b.get("alice", (0, 0))[1] >= 12
        ) == {"alice": (2, 12)}
        duplicates = runtime.metrics.registry.get_sample_value(
            "agentshop_messages_consumed_total",
            {"topic": topic, "type": "Credit", "outcome": "duplicate"},
        )
        assert duplicates == 1
    assert await count(url, "inbox") == 2


async def test_failing_handler_dead_letters_and_partition_moves_on(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    messages = [
        ledger.Credit(account="bob", amount=1),
        ledger.Credit(account="bob", amount=100, poison=True),
        ledger.Credit(account="bob", amount=2),
        ledger.Credit(account="bob", amount=3),
    ]
    for message in messages:
        await producer.send_and_wait(topic, Envelope.wrap(message).to_bytes(), key=b"bob")
    await producer.send_and_wait(topic, b"this is not an envelope", key=b"bob")
    await producer.send_and_wait(
        topic, Envelope.wrap(ledger.Credit(account="bob", amount=4)).to_bytes(), key=b"bob"
    )

    async with running_ledger(
        infra, url, topic, consumer_max_attempts=3, consumer_backoff_seconds=0.01
    ) as runtime:
        assert await eventually(lambda: balances(url), lambda b: b.get("bob", (0, 0))[0] >= 4) == {
            "bob": (4, 10)
        }
        letters = await eventually(
            lambda: list_dead_letters(runtime.service, runtime.db), lambda d: len(d) == 2
        )
        poison, garbage = letters
        assert poison.attempts == 3 and "cannot credit bob" in poison.error
        assert garbage.attempts == 1 and "not a message envelope" in garbage.error
        dlq = await eventually(lambda: read_topic(infra, topic + ".dlq"), lambda r: len(r) == 2)
        headers = dict(dlq[0].headers)
        assert headers["dlq.original_topic"] == topic.encode()
        assert b"cannot credit bob" in headers["dlq.error"]
        assert (
            runtime.metrics.registry.get_sample_value(
                "agentshop_dlq_messages_total", {"topic": topic}
            )
            == 2
        )


def batches(runtime: ServiceRuntime, outcome: str) -> float:
    value = runtime.metrics.registry.get_sample_value(
        "agentshop_consumer_batches_total", {"outcome": outcome}
    )
    return float(value or 0)


async def test_a_partition_batch_commits_once_as_one_transaction(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """Records fetched together are handled in one transaction; a duplicate inside the
    batch is still a no-op."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    twice = Envelope.wrap(ledger.Credit(account="dora", amount=10))
    records = [Envelope.wrap(ledger.Credit(account="dora", amount=n)) for n in (1, 2, 3)]
    for envelope in [records[0], twice, records[1], twice, records[2]]:
        await producer.send(topic, envelope.to_bytes(), key=b"dora")
    await producer.flush()

    async with running_ledger(infra, url, topic) as runtime:
        assert await eventually(lambda: balances(url), lambda b: b.get("dora", (0, 0))[0] >= 4) == {
            "dora": (4, 16)
        }
        assert batches(runtime, "committed") >= 1
        assert batches(runtime, "fell_back") == 0
    assert await count(url, "inbox") == 4


async def test_a_message_the_handler_does_not_want_takes_no_transaction_and_no_claim(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """A handler's `wanted` passes messages over before any transaction: alone or among
    others of a batch, they leave no inbox row, and the ones wanted are handled once."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    nothing = [Envelope.wrap(ledger.Credit(account="erin", amount=0)) for _ in range(3)]
    something = Envelope.wrap(ledger.Credit(account="erin", amount=5))
    for envelope in [nothing[0], something, nothing[1]]:
        await producer.send(topic, envelope.to_bytes(), key=b"erin")
    await producer.flush()

    async with running_ledger(infra, url, topic) as runtime:
        assert await eventually(lambda: balances(url), lambda b: "erin" in b) == {"erin": (1, 5)}
        # one more, alone: handled (passed over) on its own
        await producer.send_and_wait(topic, nothing[2].to_bytes(), key=b"erin")

        assert await eventually(ignored(runtime, topic, "Credit"), lambda n: n >= 3) == 3
    assert await count(url, "inbox") == 1
    assert await balances(url) == {"erin": (1, 5)}


async def test_a_record_another_group_handles_is_passed_over_by_its_type_header(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    producer: Any,
) -> None:
    """A record whose `type` header names a message of the topic that another consumer
    group handles is passed over without decoding its value: counted as ignored, never
    dead-lettered, even when the value is not an envelope at all (it is that group's to
    judge); the records around it are handled as usual, alone and in a batch."""
    from commerce.platform.kafka import ensure_topics

    # a topic carrying a type registered to it (`Credited`) that the ledger does not handle
    topic = ledger.Credited.TOPIC
    await ensure_topics(infra, [topic, topic + ".dlq"], partitions=1)
    url = await ledger_db(new_database)
    other = [("type", b"Credited")]
    await producer.send(topic, b"not an envelope", key=b"ida", headers=other)
    await producer.send(topic, Envelope.wrap(ledger.Credit(account="ida", amount=3)).to_bytes())
    await producer.flush()
    async with running_ledger(infra, url, topic, "ledger-passes-over") as runtime:
        assert await eventually(lambda: balances(url), lambda b: "ida" in b) == {"ida": (1, 3)}
        await producer.send_and_wait(topic, b"{", key=b"ida", headers=other)  # alone

        assert await eventually(ignored(runtime, topic, "Credited"), lambda n: n >= 2) == 2
        assert await list_dead_letters(runtime.service, runtime.db) == []


async def committed(settings: Settings, group: str, topic: str) -> int:
    """The offset `group` committed for partition 0 of `topic` (0 when none)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from commerce.platform.kafka import client_options

    consumer = AIOKafkaConsumer(
        **client_options(settings), group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic, 0)) or 0
    finally:
        await consumer.stop()


@pytest.mark.parametrize("interval_ms", [200, 3_600_000])
async def test_offsets_are_committed_every_interval_and_when_the_consumer_stops(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
    interval_ms: int,
) -> None:
    """Handled records' offsets are committed once per `KAFKA_COMMIT_INTERVAL_MS` for all
    of them (docs/adr/0042), not after each batch; what is owed when the consumer stops
    is committed as it leaves, so a restart delivers nothing again."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    group = "agentshop.ledger"
    async with running_ledger(infra, url, topic, kafka_commit_interval_ms=interval_ms):
        for n in range(1, 4):  # one at a time: three batches
            await producer.send_and_wait(
                topic, Envelope.wrap(ledger.Credit(account="gus", amount=n)).to_bytes()
            )

            def handled(b: dict[str, tuple[int, int]], n: int = n) -> bool:
                return b.get("gus", (0, 0))[0] == n

            await eventually(lambda: balances(url), handled)
        if interval_ms < 1000:
            assert await eventually(lambda: committed(infra, group, topic), lambda c: c == 3) == 3
        else:  # nothing committed yet: the interval has not come round
            assert await committed(infra, group, topic) == 0
    assert await committed(infra, group, topic) == 3
    async with running_ledger(infra, url, topic) as runtime:
        await asyncio.sleep(1.0)
        again = runtime.metrics.registry.get_sample_value(
            "agentshop_messages_consumed_total",
            {"topic": topic, "type": "Credit", "outcome": "duplicate"},
        )
        assert not again
    assert await balances(url) == {"gus": (3, 6)}


async def test_a_failing_record_in_a_batch_is_dead_lettered_and_the_rest_commit_once(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """The batch rolls back as a whole, then each record gets its own transaction: the good
    ones count once, the bad one is retried and dead-lettered, and the partition goes on."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    amounts = [1, 2, 0, 4, 8]  # 0: the poison, after two good records of the same batch
    for amount in amounts:
        message = ledger.Credit(account="erin", amount=amount or 100, poison=amount == 0)
        await producer.send(topic, Envelope.wrap(message).to_bytes(), key=b"erin")
    await producer.flush()

    async with running_ledger(
        infra, url, topic, consumer_max_attempts=2, consumer_backoff_seconds=0.01
    ) as runtime:
        letters = await eventually(
            lambda: list_dead_letters(runtime.service, runtime.db), lambda d: len(d) == 1
        )
        assert letters[0].attempts == 2 and "cannot credit erin" in letters[0].error
        assert await eventually(lambda: balances(url), lambda b: b.get("erin", (0, 0))[0] >= 4) == {
            "erin": (4, 15)
        }
        assert batches(runtime, "fell_back") >= 1
        # after the dead letter the partition moves on: a later record is handled
        await producer.send_and_wait(
            topic, Envelope.wrap(ledger.Credit(account="erin", amount=16)).to_bytes(), key=b"erin"
        )
        assert await eventually(lambda: balances(url), lambda b: b.get("erin", (0, 0))[0] >= 5) == {
            "erin": (5, 31)
        }
    assert await count(url, "inbox") == 5


async def test_dead_letter_replay_after_the_fault_is_fixed(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    ledger.BLOCKED_ACCOUNTS.add("carol")
    try:
        async with running_ledger(infra, url, topic, consumer_backoff_seconds=0.01) as runtime:
            await producer.send_and_wait(
                topic, Envelope.wrap(ledger.Credit(account="carol", amount=9)).to_bytes()
            )
            await eventually(
                lambda: list_dead_letters(runtime.service, runtime.db), lambda d: len(d) == 1
            )
            ledger.BLOCKED_ACCOUNTS.discard("carol")
            assert await replay(runtime.service, runtime.db) == 1
            assert await eventually(lambda: balances(url), lambda b: "carol" in b) == {
                "carol": (1, 9)
            }
            assert await list_dead_letters(runtime.service, runtime.db) == []
            assert await replay(runtime.service, runtime.db) == 0
    finally:
        ledger.BLOCKED_ACCOUNTS.discard("carol")


async def test_a_commit_wakes_the_relay_in_its_process(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    """With the relay's poll made an hour long, only the commit can wake it: a committed
    message is published and handled, a rolled-back one never is."""
    url = await ledger_db(new_database)
    topic = await new_topic()
    async with running_ledger(infra, url, topic, outbox_poll_seconds=3600) as runtime:
        await asyncio.sleep(0.5)  # the relay's first pass is over; it waits for work
        with pytest.raises(RuntimeError):
            async with runtime.db.transaction() as session:
                await runtime.outbox.add(
                    session, ledger.Credit(account="fay", amount=50), topic=topic
                )
                raise RuntimeError("the change failed")
        async with runtime.db.transaction() as session:
            await runtime.outbox.add(session, ledger.Credit(account="fay", amount=5), topic=topic)
        assert await eventually(lambda: balances(url), lambda b: b.get("fay", (0, 0))[0] >= 1) == {
            "fay": (1, 5)
        }
        # the relay wakes the consumers before it marks the row sent (docs/adr/0040), so
        # the credit may be handled a moment before its row counts as sent
        assert await eventually(runtime.relay.backlog, lambda n: n == 0) == 0


async def test_relay_killed_mid_stream_loses_and_duplicates_nothing(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    url = await ledger_db(new_database)
    topic = await new_topic()
    service = ledger.ledger_service(topic)
    db = Database(url)
    outbox = Outbox(service.tables)
    total = 600
    async with db.transaction() as session:
        for i in range(total):
            await outbox.add(session, ledger.Credit(account=f"acct-{i % 7}", amount=1), topic=topic)

    producer = make_producer(infra)
    await producer.start()
    try:
        metrics = runtime_metrics()
        relay = OutboxRelay("ledger", db, service.tables, producer, metrics, batch_size=50)
        task = asyncio.create_task(relay.run())

        def published() -> float:
            return float(
                sum(
                    s.value
                    for m in metrics.produced.collect()
                    for s in m.samples
                    if s.name.endswith("_total")
                )
            )

        async def progress() -> float:
            return published()

        await eventually(progress, lambda n: n >= 100, every=0.001)
        task.cancel()  # a crash: possibly between publishing a batch and marking it sent
        await asyncio.gather(task, return_exceptions=True)
        assert await relay.backlog() > 0

        relay2 = OutboxRelay(
            "ledger", db, service.tables, producer, runtime_metrics(), batch_size=50
        )
        while await relay2.publish_pending():
            pass
        assert await relay2.backlog() == 0
    finally:
        await producer.stop()
        await db.dispose()

    async with running_ledger(infra, url, topic):
        final = await eventually(
            lambda: balances(url), lambda b: sum(n for n, _ in b.values()) >= total
        )
        assert sum(n for n, _ in final.values()) == total
    records = await read_topic(infra, topic)
    assert len(records) >= total  # at-least-once on the wire ...
    assert await count(url, "inbox") == total  # ... exactly once in effect


async def test_consumer_killed_mid_stream_loses_and_duplicates_nothing(
    infra: Settings,
    child_env: dict[str, str],
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    url = await ledger_db(new_database)
    topic = await new_topic()
    total = 1500
    for i in range(total):
        await producer.send(
            topic,
            Envelope.wrap(ledger.Credit(account=f"a{i % 11}", amount=2)).to_bytes(),
            key=f"a{i % 11}".encode(),
        )
    await producer.flush()

    env = {**child_env, "KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers or ""}
    # batches of 50 records (30 commits for the stream): the kill lands between two of them,
    # however fast the worker goes
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.ledger.worker", url, topic, "ledger-kill", "50",
        env=env,
    )  # fmt: skip
    try:
        processed = await eventually(
            lambda: count(url, "entries"), lambda n: n >= 200, within=60, every=0.01
        )
        assert processed < total, "the worker finished before it could be killed"
        worker.send_signal(signal.SIGKILL)
        await asyncio.wait_for(worker.wait(), 10)
    finally:
        if worker.returncode is None:
            worker.kill()

    async with running_ledger(infra, url, topic, name="ledger-kill"):
        final = await eventually(
            lambda: balances(url), lambda b: sum(n for n, _ in b.values()) >= total, within=60
        )
    assert sum(n for n, _ in final.values()) == total
    assert sum(s for _, s in final.values()) == 2 * total
    assert await count(url, "inbox") == total


async def test_a_consumer_that_fails_unexpectedly_starts_again(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """An error out of the consuming itself (not a handler's: e.g. aiokafka's while the
    group rebalances after a broker restart) must not end the service's consuming for
    good: the consumer joins again as a new member and what it fetched is handled once."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    for amount in (2, 3):
        await producer.send_and_wait(
            topic, Envelope.wrap(ledger.Credit(account="bob", amount=amount)).to_bytes()
        )
    own = make_producer(infra)
    await own.start()
    runtime = ServiceRuntime(
        ledger.ledger_service(topic, "ledger-fails"), infra, own, database_url=url
    )
    assert runtime.consumer is not None
    factory = runtime.consumer.consumer_factory
    made: list[Any] = []

    def failing_once(*topics: str, **options: Any) -> Any:
        consumer = factory(*topics, **options)
        if not made:  # the first consumer fails on its first fetch that brings records
            fetch = consumer.getmany

            async def getmany(*args: Any, **kwargs: Any) -> Any:
                if await fetch(*args, **kwargs):
                    raise RuntimeError("the consuming failed")
                return {}

            consumer.getmany = getmany
        made.append(consumer)
        return consumer

    runtime.consumer.consumer_factory = failing_once
    await runtime.start()
    try:
        final = await eventually(
            lambda: balances(url), lambda b: b.get("bob", (0, 0))[0] >= 2, within=60
        )
        restarts = runtime.metrics.registry.get_sample_value("agentshop_consumer_restarts_total")
    finally:
        await runtime.stop()
        await own.stop()
    assert final["bob"] == (2, 5)
    assert len(made) >= 2 and restarts is not None and restarts >= 1


async def test_trace_context_travels_from_producer_to_handler(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    from commerce.platform.telemetry import configure_tracing, current_trace_id, tracer

    configure_tracing("test")
    url = await ledger_db(new_database)
    topic = await new_topic()
    service = ledger.ledger_service(topic)
    db = Database(url)
    with tracer.start_as_current_span("place order"):
        origin = current_trace_id()
        async with db.transaction() as session:
            await Outbox(service.tables).add(
                session, ledger.Credit(account="traced", amount=1), topic=topic
            )
    await db.dispose()
    assert origin is not None
    async with running_ledger(infra, url, topic):
        await eventually(lambda: balances(url), lambda b: "traced" in b)
    assert ledger.TRACE_IDS["traced"] == origin


async def test_idle_consumer_handles_local_and_outside_records(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """A consumer with nothing to do pauses its fetching; a message published by a relay
    in its own process wakes it, and one published elsewhere is picked up on its interval."""
    url = await ledger_db(new_database)
    topic = await new_topic()

    async def idle(runtime: ServiceRuntime) -> bool:
        return runtime.consumer is not None and runtime.consumer.idle

    async with running_ledger(infra, url, topic, kafka_idle_fetch_interval_ms=300) as runtime:
        assert await eventually(lambda: idle(runtime), bool)
        async with runtime.db.transaction() as session:
            await runtime.outbox.add(session, ledger.Credit(account="local", amount=3), topic=topic)
        assert (await eventually(lambda: balances(url), lambda b: "local" in b))["local"] == (1, 3)

        assert await eventually(lambda: idle(runtime), bool)
        outside = Envelope.wrap(ledger.Credit(account="outside", amount=4))
        await producer.send_and_wait(topic, outside.to_bytes(), key=b"outside")
        assert (await eventually(lambda: balances(url), lambda b: "outside" in b))["outside"] == (
            1,
            4,
        )
        assert await eventually(lambda: idle(runtime), bool)


async def test_an_idle_interval_fetches_only_the_partitions_with_records(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """On its idle interval a resting consumer asks the broker where its partitions end and
    fetches only those with records published elsewhere: with nothing published every
    partition stays paused interval after interval (no round of fetches over all of them),
    and a record published elsewhere is fetched from its partition alone and handled."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=6)

    async with running_ledger(infra, url, topic, kafka_idle_fetch_interval_ms=200) as runtime:
        assert await eventually(lambda: every_partition_paused(runtime), bool)
        assert runtime.consumer is not None
        kafka = runtime.consumer._consumer
        assert kafka is not None
        fetched: set[TopicPartition] = set()

        async def sample_until(done: Callable[[], Awaitable[bool]], seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while not await done():
                assert time.monotonic() < deadline, "not done in time"
                for _ in range(20):
                    fetched.update(kafka.assignment() - kafka.paused())
                    await asyncio.sleep(0.005)

        began = time.monotonic()

        async def intervals_passed() -> bool:
            return time.monotonic() - began > 1.5  # seven intervals

        await sample_until(intervals_passed, 10)
        assert fetched == set()

        outside = Envelope.wrap(ledger.Credit(account="outside", amount=4))
        sent = await producer.send_and_wait(topic, outside.to_bytes(), key=b"outside")

        async def handled() -> bool:
            return "outside" in await balances(url)

        await sample_until(handled, 30)
        assert fetched <= {TopicPartition(topic, sent.partition)}  # (too quick to see, often)
        assert await eventually(lambda: every_partition_paused(runtime), bool)


async def every_partition_paused(runtime: ServiceRuntime) -> bool:
    """The consumer has partitions and fetches none of them (nothing is expected)."""
    kafka = runtime.consumer._consumer if runtime.consumer is not None else None
    return kafka is not None and bool(kafka.assignment()) and kafka.paused() == kafka.assignment()


async def test_a_woken_consumer_fetches_the_partitions_published_to_and_pauses_again(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    """With an idle interval longer than the test, only publishes wake the consumer: each
    reaches the partition it went to, and once the records are handled every partition is
    paused again (no fetch is sent while nothing is expected)."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=6)

    async with running_ledger(infra, url, topic, kafka_idle_fetch_interval_ms=600_000) as runtime:
        consumer = runtime.consumer
        assert consumer is not None

        def all_paused() -> Awaitable[bool]:
            return every_partition_paused(runtime)

        assert await eventually(all_paused, bool)
        accounts = [f"acct-{n}" for n in range(12)]  # keys over most of the partitions
        for round_ in (1, 2):
            async with runtime.db.transaction() as session:
                for account in accounts:
                    await runtime.outbox.add(
                        session, ledger.Credit(account=account, amount=round_), topic=topic
                    )

            def credited(b: dict[str, tuple[int, int]], r: int = round_) -> bool:
                return all(b.get(a, (0, 0))[0] == r for a in accounts)

            found = await eventually(lambda: balances(url), credited)
            assert all(found[a] == (round_, round_ * (round_ + 1) // 2) for a in accounts)
            assert await eventually(all_paused, bool)

        # one record at a time: while it is handled, no partition of the topic is fetched
        # (its own is paused while in hand; the others were never woken)
        fetched_meanwhile: dict[str, set[Any]] = {}

        def look(message: ledger.Credit) -> None:
            kafka = consumer._consumer
            assert kafka is not None
            fetched_meanwhile[message.account] = set(kafka.assignment() - kafka.paused())

        ledger.WHILE_HANDLING.append(look)
        try:
            for account in accounts[:3]:
                async with runtime.db.transaction() as session:
                    await runtime.outbox.add(
                        session, ledger.Credit(account=account, amount=10), topic=topic
                    )

                async def handled(a: str = account) -> bool:
                    return a in fetched_meanwhile

                assert await eventually(handled, bool)
                assert await eventually(all_paused, bool)
        finally:
            ledger.WHILE_HANDLING.remove(look)
        assert fetched_meanwhile == {a: set() for a in accounts[:3]}


async def test_a_record_acknowledged_before_the_broker_shows_it_is_still_fetched(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """A wake-up says where the partition ends; a fetch right after it may not show the
    record yet. The consumer keeps fetching until it has taken that far, rather than
    pausing the partition until the next publish to it (here: never; the idle interval
    is longer than the test), and pauses it once it has."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)

    async with running_ledger(infra, url, topic, kafka_idle_fetch_interval_ms=600_000) as runtime:

        def all_paused() -> Awaitable[bool]:
            return every_partition_paused(runtime)

        assert await eventually(all_paused, bool)
        # the relay's wake-up, as if the broker had acknowledged a record it shows only later
        wakeups.published([(topic, 0)], {(topic, 0): 1})
        await asyncio.sleep(1.5)  # fetch rounds (up to 200 ms each when empty), none showing it
        late = Envelope.wrap(ledger.Credit(account="late", amount=5))
        await producer.send_and_wait(topic, late.to_bytes(), key=b"late")  # wakes nothing
        found = await eventually(lambda: balances(url), lambda b: "late" in b, within=20)
        assert found["late"] == (1, 5)
        assert await eventually(all_paused, bool)


async def test_a_partition_counts_as_answered_only_once_a_fetch_found_nothing_beyond(
    infra: Settings, new_topic: Callable[..., Awaitable[str]], producer: Any
) -> None:
    """A partition woken by a publish stays fetched until a fetch asked for it since and
    showed nothing beyond the position: records fetched but not yet taken would be dropped
    by a pause, and a paused partition waits for the next publish to it."""
    topic = await new_topic(partitions=1)
    tp = TopicPartition(topic, 0)
    kafka = make_consumer(infra, group_id=f"answered-{uuid.uuid4().hex[:8]}")
    await kafka.start()
    try:
        kafka.assign([tp])
        await kafka.seek_to_beginning(tp)
        asked = int(time.time() * 1000)
        assert not _answered(kafka, tp, asked)  # no fetch has asked since
        assert await kafka.getmany(tp, timeout_ms=500) == {}

        async def answered(since: int) -> bool:
            return _answered(kafka, tp, since)

        assert await eventually(lambda: answered(asked), bool)

        woken = int(time.time() * 1000)
        await producer.send_and_wait(topic, b"{}", key=b"k")

        async def buffered() -> int | None:
            return _highwater(kafka, tp)

        # aiokafka's fetcher brings the record without being asked: it is in hand, not taken
        assert await eventually(buffered, lambda high: high == 1)
        assert not _answered(kafka, tp, woken)
        assert not _answered(kafka, tp, 0)
        taken = await kafka.getmany(tp, timeout_ms=1000)
        assert [r.offset for r in taken[tp]] == [0]
        assert await eventually(lambda: answered(woken), bool)
        # a record a relay saw acknowledged counts although no fetch has shown it yet
        wakeups.published([tp.topic], {(tp.topic, 0): 2})
        assert not _answered(kafka, tp, woken)
    finally:
        await kafka.stop()


async def test_a_message_of_an_unknown_type_is_dead_lettered_not_dropped(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """A well-formed envelope whose type no service knows, alone and inside a batch."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    mystery = Envelope(type="Mystery", version=1, payload={"anything": 1})
    for envelope in (
        Envelope.wrap(ledger.Credit(account="gus", amount=1)),
        mystery,
        Envelope.wrap(ledger.Credit(account="gus", amount=2)),
    ):
        await producer.send(topic, envelope.to_bytes(), key=b"gus")
    await producer.flush()
    async with running_ledger(infra, url, topic, consumer_backoff_seconds=0.01) as runtime:
        letters = await eventually(
            lambda: list_dead_letters(runtime.service, runtime.db), lambda d: len(d) == 1
        )
        assert letters[0].type == "Mystery" and "unknown message type" in letters[0].error
        assert await eventually(lambda: balances(url), lambda b: b.get("gus", (0, 0))[0] >= 2) == {
            "gus": (2, 3)
        }
        await producer.send_and_wait(
            topic, mystery.model_copy(update={"message_id": uuid.uuid4()}).to_bytes()
        )
        await eventually(
            lambda: list_dead_letters(runtime.service, runtime.db), lambda d: len(d) == 2
        )


async def test_a_replay_goes_back_to_the_consumer_group_that_failed_only(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """Two services consume one topic and both give up on a poison message. Replaying one
    service's dead letter reaches that service again; the other skips it."""
    first, second = await ledger_db(new_database), await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    async with (
        running_ledger(infra, first, topic, "ledger-a", consumer_backoff_seconds=0.01) as a,
        running_ledger(infra, second, topic, "ledger-b", consumer_backoff_seconds=0.01) as b,
    ):
        await producer.send_and_wait(
            topic, Envelope.wrap(ledger.Credit(account="hal", amount=5, poison=True)).to_bytes()
        )
        await eventually(lambda: list_dead_letters(a.service, a.db), lambda d: len(d) == 1)
        await eventually(lambda: list_dead_letters(b.service, b.db), lambda d: len(d) == 1)
        assert await replay(a.service, a.db) == 1
        again = await eventually(
            lambda: list_dead_letters(a.service, a.db), lambda d: len(d) == 1 and d[0].id > 1
        )
        assert again[0].consumer == "ledger-a"
        # a later record on the one partition: once b handled it, b had seen the replay
        await producer.send_and_wait(
            topic, Envelope.wrap(ledger.Credit(account="ivy", amount=1)).to_bytes()
        )
        await eventually(lambda: balances(second), lambda bal: "ivy" in bal)
        assert len(await list_dead_letters(b.service, b.db, include_replayed=True)) == 1
