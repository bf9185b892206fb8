"""The floor under the saga: what one Kafka hop and one PostgreSQL commit cost here.

Measured on the broker and database the services use, with the same client settings
(the consumer's fetch wait matters on Tansu, see docs/adr/0002). A completed checkout
needs at least `SAGA_HOPS` messages in sequence and `SAGA_COMMITS` commits, so no
implementation on this machine can finish a saga faster than
`SAGA_HOPS x kafka round trip + SAGA_COMMITS x commit`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg

from commerce.platform.db import asyncpg_dsn, ensure_database
from commerce.platform.kafka import (
    ensure_topics,
    make_consumer,
    make_producer,
    start_consumer,
)
from commerce.platform.settings import Settings, to_asyncpg_url

# InitiateCheckoutCommand, ReserveInventory, InventoryReserved, ProcessPayment,
# PaymentProcessed, CreateOrder, OrderCreated: each is published after the previous
# one is consumed and committed.
SAGA_HOPS = 7
# The BFF's outbox write, then one transaction per message above (orchestrator x4,
# inventory, payment, order). The relays' "mark sent" commits run after publishing
# and are not on the path.
SAGA_COMMITS = 8
FLOOR_TOPIC = "agentshop.load-floor"
FLOOR_DATABASE = "agentshop_load_floor"


@dataclass(frozen=True)
class Floor:
    kafka_round_trip_ms_p50: float
    kafka_round_trip_ms_p95: float
    commit_ms_p50: float
    commit_ms_p95: float
    samples: int
    hops: int = SAGA_HOPS
    commits: int = SAGA_COMMITS

    @property
    def saga_floor_ms(self) -> float:
        return self.hops * self.kafka_round_trip_ms_p50 + self.commits * self.commit_ms_p50

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "saga_floor_ms": round(self.saga_floor_ms, 3)}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def kafka_round_trips(settings: Settings, samples: int) -> list[float]:
    """Produce one record and wait until a consumer of the same settings receives it."""
    await ensure_topics(settings, [FLOOR_TOPIC], partitions=1)
    producer = make_producer(settings, client_id="agentshop-load-floor")
    consumer = make_consumer(
        settings, FLOOR_TOPIC, group_id=f"agentshop.load-floor.{uuid.uuid4().hex[:8]}"
    )
    await producer.start()
    await start_consumer(consumer)  # as the services' consumers (docs/adr/0047)
    try:
        await producer.send_and_wait(FLOOR_TOPIC, b"warm-up")
        while not await consumer.getmany(timeout_ms=200):  # joined, and past the warm-up
            pass
        timings = []
        for n in range(samples):
            value = f"floor-{n}".encode()
            started = time.perf_counter()
            await producer.send_and_wait(FLOOR_TOPIC, value)
            while (await consumer.getone()).value != value:
                pass
            timings.append((time.perf_counter() - started) * 1000)
        return timings
    finally:
        await consumer.stop()
        await producer.stop()


async def commit_round_trips(settings: Settings, samples: int) -> list[float]:
    """One small INSERT committed per sample (a durable, WAL-flushed commit)."""
    assert settings.database_url, "DATABASE_URL is set by the stack before measuring"
    server = to_asyncpg_url(settings.database_url, database="postgres")
    await ensure_database(server, FLOOR_DATABASE)
    conn = await asyncpg.connect(
        asyncpg_dsn(to_asyncpg_url(settings.database_url, database=FLOOR_DATABASE))
    )
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS commit_floor (id bigserial PRIMARY KEY, at timestamptz)"
        )
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute("INSERT INTO commit_floor (at) VALUES (now())")
            timings.append((time.perf_counter() - started) * 1000)
        await conn.execute("TRUNCATE commit_floor")
        return timings
    finally:
        await conn.close()


async def measure_floor(settings: Settings, samples: int = 200) -> Floor:
    kafka = await kafka_round_trips(settings, samples)
    await asyncio.sleep(0)
    commits = await commit_round_trips(settings, samples)
    return Floor(
        kafka_round_trip_ms_p50=round(statistics.median(kafka), 3),
        kafka_round_trip_ms_p95=round(_p95(kafka), 3),
        commit_ms_p50=round(statistics.median(commits), 3),
        commit_ms_p95=round(_p95(commits), 3),
        samples=samples,
    )
