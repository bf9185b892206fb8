"""What durability costs (docs/adr/0020): replay after a broker restart, and confirmations.

    uv run python -m benchmarks.durability [--messages 20000]

Starts an embedded PostgreSQL and broker in a temporary folder, one service database with
the platform's tables, a relay, a consumer (a handler that inserts one row) and the broker
watch, then prints:

- first delivery: relay publish rate and consumer rate (inbox + handler, batched);
- the broker killed with SIGKILL and started again empty: how long until the watch sees
  the new incarnation, the relay's replay rate, and the consumer's rate on the repeats
  (each a no-op through its inbox);
- the end-to-end confirmation: the inbox lookup behind `POST /ops/inbox`, per message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Integer, Table, func, select
from sqlalchemy.dialects.postgresql import UUID

from commerce.contracts import Command
from commerce.platform.consumer import ConsumerRunner, Handler, MessageContext
from commerce.platform.db import Database, PlatformTables, ensure_database, service_metadata
from commerce.platform.incarnation import BrokerWatch
from commerce.platform.kafka import ensure_topics, make_consumer, make_producer
from commerce.platform.metrics import ServiceMetrics
from commerce.platform.outbox import Outbox, OutboxRelay
from commerce.platform.settings import Settings, to_asyncpg_url

TOPIC = "bench.durability"
metadata = service_metadata()
effects = Table(
    "effects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", UUID(as_uuid=True), nullable=False),
)
tables = PlatformTables.of(metadata)


class Touch(Command, topic=TOPIC):
    n: int

    def partition_key(self) -> str | None:
        return str(self.n % 16)


async def touch(message: Touch, ctx: MessageContext) -> None:
    await ctx.session.execute(effects.insert().values(message_id=ctx.envelope.message_id))


async def count(db: Database, table: Table, *where: Any) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def until(probe: Callable[[], Awaitable[bool]], within: float = 600.0) -> float:
    """Seconds until `probe()` holds (bounded)."""
    started = time.perf_counter()
    while not await probe():
        if time.perf_counter() - started > within:
            raise TimeoutError("the benchmark did not converge")
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def fresh_database(settings: Settings, name: str) -> Database:
    """The database `name` on the run's server, with this module's tables made anew."""
    assert settings.database_url
    await ensure_database(to_asyncpg_url(settings.database_url), name)
    db = Database(to_asyncpg_url(settings.database_url, database=name))
    async with db.engine.begin() as conn:
        await conn.run_sync(metadata.drop_all)
        await conn.run_sync(metadata.create_all)
    return db


async def run(settings: Settings, messages: int) -> None:
    db = await fresh_database(settings, "bench_durability")
    await ensure_topics(settings, [TOPIC, TOPIC + ".dlq"], partitions=6)
    producer = make_producer(settings)
    await producer.start()
    watch = BrokerWatch(settings, producer, every=0.2)
    watch.start()
    metrics = ServiceMetrics("bench")
    relay = OutboxRelay("bench", db, tables, producer, metrics, watch=watch)
    consumer = ConsumerRunner(
        name="bench", db=db, tables=tables, outbox=Outbox(tables),
        consumer_factory=lambda *t, **kw: make_consumer(settings, *t, **kw),
        handlers=[Handler(Touch, touch)], metrics=metrics, watch=watch,
    )  # fmt: skip
    await watch.wait_known(30)
    outbox = Outbox(tables)
    async with db.transaction() as session:
        for start in range(0, messages, 1000):
            await outbox.add_all(
                session, [Touch(n=n) for n in range(start, min(start + 1000, messages))]
            )
    relay_task = asyncio.create_task(relay.run())
    pending = tables.outbox.c.sent_at.is_(None)
    publish = await until(lambda: _is(count(db, tables.outbox, pending), 0))
    consumer_task = asyncio.create_task(consumer.run())
    consume = await until(lambda: _at_least(count(db, effects), messages))
    print(
        f"first delivery of {messages} messages: relay {messages / publish:,.0f}/s, consumer {messages / consume:,.0f}/s"
    )

    broker = stack_broker()
    before = watch.current
    killed = time.perf_counter()
    broker.kill()
    broker.start()
    await ensure_topics(settings, [TOPIC, TOPIC + ".dlq"], partitions=6)
    await until(lambda: _true(watch.current is not None and watch.current != before))
    seen = time.perf_counter() - killed
    replay_started = time.perf_counter()
    await until(
        lambda: _true(relay._replayed_for == (watch.current.marker if watch.current else ""))
    )
    await until(lambda: _is(count(db, tables.outbox, pending), 0))
    replayed = time.perf_counter() - replay_started
    inbox = tables.inbox
    await until(lambda: _at_least(_duplicates(metrics), messages), within=900)
    deduped = time.perf_counter() - replay_started
    effect_count = await count(db, effects)
    print(
        f"broker restarted empty: new incarnation seen after {seen:.2f} s; replay of {messages} "
        f"messages {messages / replayed:,.0f}/s; consumer dropped the repeats at "
        f"{messages / deduped:,.0f}/s; effects {effect_count} (once each)"
    )
    ids = await _ids(db, inbox, 500)
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        async with db.sessions() as session:
            await session.scalars(
                select(inbox.c.message_id).where(
                    inbox.c.consumer == "bench", inbox.c.message_id.in_(ids)
                )
            )
        timings.append((time.perf_counter() - started) * 1000)
    p50 = statistics.median(timings)
    print(
        f"confirmation lookup of 500 messages in the inbox: p50 {p50:.2f} ms "
        f"({p50 * 1000 / 500:.1f} µs per message)"
    )
    await consumer.stop()
    await relay.stop()
    for task in (consumer_task, relay_task):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 20)
    await watch.stop()
    await producer.stop()
    await db.dispose()


_broker: Any = None


def stack_broker() -> Any:
    assert _broker is not None
    return _broker


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _at_least(value: Awaitable[int], expected: int) -> bool:
    return await value >= expected


async def _true(value: bool) -> bool:
    return value


async def _duplicates(metrics: ServiceMetrics) -> int:
    total = 0.0
    for metric in metrics.registry.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == "duplicate":
                total += sample.value
    return int(total)


async def _ids(db: Database, inbox: Table, limit: int) -> list[uuid.UUID]:
    async with db.sessions() as session:
        return list(await session.scalars(select(inbox.c.message_id).limit(limit)))


def main() -> None:
    global _broker
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    args = parser.parse_args()
    from commerce.platform import stack
    from commerce.platform.logging import configure_logging

    configure_logging("ERROR", "console")
    with tempfile.TemporaryDirectory(prefix="agentshop-bench-") as data:
        environment = {**os.environ, "AGENTSHOP_DATA_DIR": str(Path(data))}
        with stack.infrastructure(environment) as infra:
            _broker = infra.broker
            asyncio.run(run(infra.settings, args.messages))


if __name__ == "__main__":
    main()
