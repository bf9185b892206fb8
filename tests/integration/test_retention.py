"""Consumed message ids and idempotency keys are purged by age, in batches, and counted."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text

from commerce.platform import migrations
from commerce.platform.retention import INBOX, purge
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import Settings
from tests.integration import ledger

pytestmark = pytest.mark.integration


async def test_inbox_rows_older_than_the_retention_go_and_newer_ones_stay(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    url = await new_database("ledger")
    service = ledger.ledger_service(await new_topic(), name="ledger-retention")
    await migrations.upgrade(service.migrations, url, ledger.metadata)
    runtime = ServiceRuntime(service, infra, producer, database_url=url)
    insert = text(
        'INSERT INTO inbox (consumer, message_id, type, topic, partition, "offset", processed_at) '
        "SELECT 'c', gen_random_uuid(), 'Credit', 't', 0, n, now() - make_interval(hours => :age) "
        "FROM generate_series(1, :rows) AS n"
    )
    hours = infra.inbox_retention_hours
    async with runtime.db.transaction() as session:
        await session.execute(insert, {"age": int(hours) + 1, "rows": 25})  # past retention
        await session.execute(insert, {"age": int(hours) - 1, "rows": 3})  # kept
    try:
        assert await purge(runtime, INBOX, batch=10) == 25  # three batches, then a short one
        async with runtime.db.transaction() as session:
            left = await session.scalar(text("SELECT count(*) FROM inbox"))
        assert left == 3
        assert await purge(runtime, INBOX) == 0
        scraped = runtime.metrics.purged.labels("inbox")._value.get()
        assert scraped == 25
    finally:
        await runtime.http.aclose()
        await runtime.db.dispose()


async def test_the_bff_purges_idempotency_keys_after_a_day(
    infra: Settings, new_database: Callable[[str], Awaitable[str]], producer: Any
) -> None:
    from bff.service import service as bff

    url = await new_database("bff")
    await migrations.upgrade(bff.migrations, url, bff.metadata)
    runtime = ServiceRuntime(bff, infra, producer, database_url=url)
    [rule] = bff.retention
    assert rule.keep(infra).total_seconds() == infra.idempotency_key_retention_hours * 3600
    insert = text(
        "INSERT INTO idempotency_keys (user_id, key, route, request_hash, created_at) "
        "VALUES ('u', :key, 'r', 'h', now() - make_interval(hours => :age))"
    )
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    async with runtime.db.transaction() as session:
        await session.execute(insert, {"key": old, "age": 25})
        await session.execute(insert, {"key": recent, "age": 23})
    try:
        assert await purge(runtime, rule) == 1
        async with runtime.db.transaction() as session:
            keys = (await session.scalars(text("SELECT key FROM idempotency_keys"))).all()
        assert keys == [recent]
    finally:
        await runtime.http.aclose()
        await runtime.db.dispose()
