"""Publishing right after commit, and one inbox claim per batch (docs/adr/0039), against the
real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine

from commerce.contracts import Envelope
from commerce.platform.db import Database, PlatformTables, service_metadata
from commerce.platform.kafka import client_options
from commerce.platform.outbox import Outbox
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import Settings
from tests.integration import ledger
from tests.integration.helpers import eventually, read_topic
from tests.integration.test_messaging import balances, batches, count, ledger_db, running_ledger

pytestmark = pytest.mark.integration


def sample(runtime: ServiceRuntime, name: str, labels: dict[str, str] | None = None) -> float:
    return float(runtime.metrics.registry.get_sample_value(name, labels or {}) or 0)


def reads(runtime: ServiceRuntime) -> float:
    return sample(runtime, "agentshop_outbox_reads_total")


async def leading(runtime: ServiceRuntime, url: str, topic: str) -> None:
    """The relay holds the lease and keeps it: a first message published and handled.
    First the relay has seen the broker's incarnation (its replay check, which reads
    again what was sent before that broker's birth, is behind it)."""

    async def replayed_for() -> str | None:
        return runtime.relay._replayed_for

    await eventually(replayed_for, lambda marker: marker is not None)
    runtime.relay.lease_idle_seconds = 3600
    async with runtime.db.transaction() as session:
        await runtime.outbox.add(session, ledger.Credit(account="first", amount=1), topic=topic)
    await eventually(lambda: balances(url), lambda b: "first" in b)

    async def leased() -> bool:  # the relay notes the lease after its publish returns
        return runtime.relay.leased

    await eventually(leased, bool)


async def test_a_committed_record_is_produced_directly_and_consumed_once(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    """With the poll an hour long and the lease kept, the commit hands the row to the relay:
    it is published without the relay reading the outbox, marked sent, handled once."""
    url = await ledger_db(new_database)
    topic = await new_topic()
    async with running_ledger(infra, url, topic, outbox_poll_seconds=3600) as runtime:
        await leading(runtime, url, topic)
        before = reads(runtime)
        async with runtime.db.transaction() as session:
            envelope = await runtime.outbox.add(
                session, ledger.Credit(account="gus", amount=9), topic=topic
            )
        assert await eventually(lambda: balances(url), lambda b: b.get("gus", (0, 0))[0] >= 1) == {
            "first": (1, 1),
            "gus": (1, 9),
        }
        assert await eventually(runtime.relay.backlog, lambda n: n == 0) == 0
        assert reads(runtime) == before  # published as handed, not read back
        assert sample(runtime, "agentshop_messages_produced_total", {"topic": topic}) == 2
    records = await read_topic(infra, topic)
    assert [Envelope.from_bytes(r.value).message_id for r in records][1:] == [envelope.message_id]
    assert await count(url, "inbox") == 2


async def test_a_produce_failing_after_commit_is_delivered_by_the_relay(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    """The broker refuses the direct publish of a committed row (here: a producer whose
    request size limit the record exceeds): the row stays unsent in the outbox, and the
    relay's next pass reads it and delivers it, once."""
    url = await ledger_db(new_database)
    topic = await new_topic()
    refusing = AIOKafkaProducer(**client_options(infra), max_request_size=64)  # records are larger
    await refusing.start()
    try:
        async with running_ledger(infra, url, topic, outbox_poll_seconds=3600) as runtime:
            await leading(runtime, url, topic)
            working, runtime.relay.producer = runtime.relay.producer, refusing
            async with runtime.db.transaction() as session:
                await runtime.outbox.add(
                    session, ledger.Credit(account="hal", amount=4), topic=topic
                )

            async def failed() -> float:
                return sample(runtime, "agentshop_outbox_publish_failures_total")

            await eventually(failed, lambda n: n >= 1)
            assert await runtime.relay.backlog() == 1  # committed, not sent
            before = reads(runtime)
            runtime.relay.producer = working
            assert await eventually(
                lambda: balances(url), lambda b: b.get("hal", (0, 0))[0] >= 1
            ) == {"first": (1, 1), "hal": (1, 4)}
            assert await eventually(runtime.relay.backlog, lambda n: n == 0) == 0
            assert reads(runtime) > before  # the relay read it back
    finally:
        await refusing.stop()
    assert len(await read_topic(infra, topic)) == 2
    assert await count(url, "inbox") == 2


async def test_one_inbox_claim_per_batch_drops_every_repeat(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    producer: Any,
) -> None:
    """A batch holding messages handled in an earlier batch, and one message twice: the
    batch's one claim statement lets only the new ones through, each once."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    a, b, c, d = (Envelope.wrap(ledger.Credit(account="ivy", amount=n)) for n in (1, 2, 4, 8))
    for envelope in (a, b):
        await producer.send(topic, envelope.to_bytes(), key=b"ivy")
    await producer.flush()
    async with running_ledger(infra, url, topic) as runtime:
        assert await eventually(lambda: balances(url), lambda s: s.get("ivy", (0, 0))[0] >= 2) == {
            "ivy": (2, 3)
        }
    # the same consumer group again, later: these come in one fetch
    for envelope in (b, c, b, a, d, c):
        await producer.send(topic, envelope.to_bytes(), key=b"ivy")
    await producer.flush()
    async with running_ledger(infra, url, topic) as runtime:
        assert await eventually(lambda: balances(url), lambda s: s.get("ivy", (0, 0))[0] >= 4) == {
            "ivy": (4, 15)
        }

        async def duplicates() -> float:
            return sample(
                runtime,
                "agentshop_messages_consumed_total",
                {"topic": topic, "type": "Credit", "outcome": "duplicate"},
            )

        assert await eventually(duplicates, lambda n: n >= 4) == 4
        assert batches(runtime, "fell_back") == 0
    assert await count(url, "inbox") == 4


async def test_a_transaction_without_a_relay_here_notifies_once(
    new_database: Callable[[str], Awaitable[str]],
) -> None:
    """With no relay of the outbox in this process, a transaction that writes to it twice
    sends one NOTIFY for a relay elsewhere, not one per write."""
    url = await new_database("notify_once")
    metadata = service_metadata()
    db = Database(url, pool_size=1)
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        outbox = Outbox(PlatformTables.of(metadata))
        event.listen(Engine, "before_cursor_execute", record)
        try:
            async with db.transaction() as session:
                for value in (b"1", b"2"):
                    await outbox.add_raw(session, topic="t", key="k", type_name="x", value=value)
        finally:
            event.remove(Engine, "before_cursor_execute", record)
    finally:
        await db.dispose()
    assert sum("NOTIFY" in s for s in sent) == 1


async def test_a_mark_does_not_wait_for_the_disk_and_a_replay_does(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    """The relay marks rows sent on a connection whose commits do not wait for the WAL
    flush (a mark lost to a crash of PostgreSQL sends rows again, which the inboxes drop);
    a replay, which marks rows unsent again, waits for it and sends them again."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    async with running_ledger(infra, url, topic) as runtime:
        await leading(runtime, url, topic)
        conn = runtime.relay._conn
        assert conn is not None
        assert await conn.fetchval("SHOW synchronous_commit") == "off"
        again = await runtime.relay.replay(datetime.now(UTC) + timedelta(seconds=1))
        assert again == 1  # the first credit's row, sent once already
        assert await conn.fetchval("SHOW synchronous_commit") == "off"  # SET LOCAL: ended
        produced = await eventually(
            lambda: read_topic(infra, topic), lambda records: len(records) == 2
        )
        assert len({r.value for r in produced}) == 1  # the same record, sent again
        assert await count(url, "entries") == 1  # and dropped by the inbox


def credited(account: str, entries: int) -> Callable[[dict[str, tuple[int, int]]], bool]:
    """For `eventually`: `account` has this many entries."""
    return lambda found: found.get(account, (0, 0))[0] == entries


async def test_rows_of_several_commits_are_marked_sent_together(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
) -> None:
    """Each commit's rows are published at once, in a pass of their own, and marked sent
    together once the mark interval is up, or when the relay stops."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    async with running_ledger(infra, url, topic) as runtime:
        await leading(runtime, url, topic)
        assert await eventually(runtime.relay.backlog, lambda n: n == 0) == 0  # within 1 s
        runtime.relay.mark_interval = 3600
        for amount in (1, 2, 3):
            async with runtime.db.transaction() as session:
                credit = ledger.Credit(account="jo", amount=amount)
                await runtime.outbox.add(session, credit, topic=topic)
            await eventually(lambda: balances(url), credited("jo", amount))  # before the next
        assert await runtime.relay.backlog() == 3  # published and handled, not marked yet
    db = Database(url)
    try:
        async with db.sessions() as session:
            outbox = PlatformTables.of(ledger.metadata).outbox
            unsent = await session.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            )
        assert unsent == 0  # marked as the relay stopped
    finally:
        await db.dispose()


async def test_a_mark_coming_due_does_not_make_the_relay_read(
    infra: Settings,
    new_database: Callable[[str], Awaitable[str]],
    new_topic: Callable[..., Awaitable[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A wait for the next mark ends in the mark, never in a read of the outbox, also when
    its timer fires a little early (uvloop's timers count whole milliseconds): twenty
    commits, each published and marked while the relay waits, and not one read."""
    url = await ledger_db(new_database)
    topic = await new_topic(partitions=1)
    async with running_ledger(infra, url, topic, outbox_poll_seconds=3600) as runtime:
        await leading(runtime, url, topic)
        runtime.relay.mark_interval = 0.05
        woken = runtime.relay._woken

        async def early(seconds: float) -> bool:
            return await woken(max(seconds - 0.002, 0.0))

        monkeypatch.setattr(runtime.relay, "_woken", early)
        before = reads(runtime)
        for amount in range(1, 21):
            async with runtime.db.transaction() as session:
                credit = ledger.Credit(account="kim", amount=amount)
                await runtime.outbox.add(session, credit, topic=topic)
            await asyncio.sleep(0.08)  # the mark comes due while the relay waits
        assert await eventually(runtime.relay.backlog, lambda n: n == 0) == 0
        assert await eventually(lambda: balances(url), lambda b: b.get("kim", (0, 0))[0] == 20)
        assert reads(runtime) == before
