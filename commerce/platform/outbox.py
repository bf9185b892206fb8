"""Transactional outbox: messages are written in the business transaction and published after it.

`Outbox.add` inserts a row in the caller's transaction. When a relay for the same
outbox runs in this process, the commit itself wakes it (a session `after_commit` hook);
otherwise the transaction also sends a NOTIFY (delivered only on commit) for a relay
elsewhere. `OutboxRelay` publishes pending rows in id order and marks them sent, in
two statements: take the leader lock and read the batch, then mark it sent
(docs/adr/0016).
A crash between publish and mark re-publishes on restart; consumers drop the
duplicate through their inbox, so effects happen once. A rolled-back transaction
leaves no row, so nothing is ever published for it.

Sent rows are kept for `AGENTSHOP_OUTBOX_RETENTION_HOURS`: PostgreSQL is the log of
record (docs/adr/0020). When the broker is found to be a new incarnation (it lost its
data, `commerce.platform.incarnation`), the relay marks the rows it sent before that
incarnation was born, within `AGENTSHOP_OUTBOX_REPLAY_SECONDS`, unsent again, and they
are published again in id order with what is new. `sent_at` is the moment the relay read
the row, before publishing it, so a row sent to an earlier incarnation always has a
`sent_at` before the next one's birth.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, Table, and_, delete, event, func, literal, select, text, update
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from commerce.contracts import Envelope, Message
from commerce.platform import wakeups
from commerce.platform.db import Database, PlatformTables, asyncpg_dsn
from commerce.platform.incarnation import BrokerWatch
from commerce.platform.metrics import ServiceMetrics
from commerce.platform.telemetry import inject

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "agentshop_outbox"
_NOTIFY = text(f"NOTIFY {NOTIFY_CHANNEL}")
_NOTIFIED_IN = "agentshop.outbox_notified_in"
_WRITTEN = "agentshop.outbox_written"
REPLAY_MARGIN = timedelta(seconds=2)

# Relays running in this process, by the database and outbox table they publish (see
# `_wake_local`). Services share one table definition across databases in tests.
_local_relays: dict[tuple[URL, Table], set[asyncio.Event]] = {}


@event.listens_for(Session, "after_commit")
def _wake_local(session: Session) -> None:
    """A transaction that wrote outbox rows committed: wake this process's relays at once."""
    written = session.info.pop(_WRITTEN, None)
    if written is not None:
        for wake in _local_relays.get(written, ()):
            wake.set()


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


class Outbox:
    """Writes messages to one service database's outbox table."""

    def __init__(self, tables: PlatformTables) -> None:
        self._table = tables.outbox

    async def add(
        self,
        session: AsyncSession,
        message: Message,
        *,
        correlation_id: str | None = None,
        causation_id: uuid.UUID | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        topic: str | None = None,
    ) -> Envelope:
        """Add `message` to the outbox in `session`'s transaction (published after commit)."""
        envelope, row = self._row(message, correlation_id, causation_id, key, headers, topic)
        await self._insert(session, [row])
        return envelope

    async def add_all(
        self,
        session: AsyncSession,
        messages: Sequence[Message],
        *,
        correlation_id: str | None = None,
        causation_id: uuid.UUID | None = None,
    ) -> list[Envelope]:
        """`add` for several messages in one statement; they are published in this order."""
        if not messages:
            return []
        made = [self._row(m, correlation_id, causation_id, None, None, None) for m in messages]
        await self._insert(session, [row for _, row in made])
        return [envelope for envelope, _ in made]

    def _row(
        self,
        message: Message,
        correlation_id: str | None,
        causation_id: uuid.UUID | None,
        key: str | None,
        headers: dict[str, str] | None,
        topic: str | None,
    ) -> tuple[Envelope, dict[str, Any]]:
        envelope = Envelope.wrap(message, correlation_id=correlation_id, causation_id=causation_id)
        carrier: dict[str, str] = dict(headers or {})
        inject(carrier)
        return envelope, {
            "message_id": envelope.message_id,
            "topic": topic or message.TOPIC,
            "key": key or message.partition_key() or correlation_id,
            "type": envelope.type,
            "value": envelope.to_bytes(),
            "headers": {
                **carrier,
                "type": envelope.type,
                **({"correlation_id": correlation_id} if correlation_id else {}),
            },
        }

    async def add_raw(
        self,
        session: AsyncSession,
        *,
        topic: str,
        key: str | None,
        type_name: str,
        value: bytes,
        message_id: uuid.UUID | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        await self._insert(
            session,
            [
                {
                    "message_id": message_id or uuid.uuid4(),
                    "topic": topic,
                    "key": key,
                    "type": type_name,
                    "value": value,
                    "headers": headers or {},
                }
            ],
        )

    async def resend(self, session: AsyncSession, message_ids: Sequence[uuid.UUID]) -> int:
        """Publish these sent messages again, unchanged (same message id, so a consumer that
        did handle one drops the repeat). Rows not yet sent are left as they are."""
        if not message_ids:
            return 0
        t = self._table
        again = (
            await session.scalars(
                update(t)
                .where(t.c.message_id.in_(list(message_ids)), t.c.sent_at.is_not(None))
                .values(sent_at=None)
                .returning(t.c.message_id)
            )
        ).all()
        if again:
            await self._wake_relay(session)
        return len(again)

    async def _insert(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        # `created_at` is the moment of the write, not the transaction's start (`now()`):
        # with `sent_at` it shows how long a row waited for commit and relay.
        for row in rows:
            row["created_at"] = func.clock_timestamp()
        await session.execute(self._table.insert().values(rows))
        await self._wake_relay(session)

    async def _wake_relay(self, session: AsyncSession) -> None:
        """Have the commit of `session` wake the relay of this outbox."""
        written = (session.get_bind().engine.url, self._table)
        if _local_relays.get(written):
            # A relay in this process publishes this outbox: the commit wakes it
            # (`_wake_local`), without a NOTIFY round trip to PostgreSQL and back.
            session.info[_WRITTEN] = written
            return
        # One NOTIFY per transaction wakes a relay elsewhere (PostgreSQL delivers it on
        # commit and folds repeats anyway); a savepoint counts as its own, since its
        # rollback drops it.
        transaction = session.get_nested_transaction() or session.get_transaction()
        if session.info.get(_NOTIFIED_IN) is not transaction:
            await session.execute(_NOTIFY)
            session.info[_NOTIFIED_IN] = transaction


class OutboxRelay:
    """Publishes one service database's pending outbox rows to Kafka."""

    def __init__(
        self,
        name: str,
        db: Database,
        tables: PlatformTables,
        producer: AIOKafkaProducer,
        metrics: ServiceMetrics,
        *,
        poll_seconds: float = 1.0,
        batch_size: int = 500,
        retention_hours: float = 24.0,
        replay_seconds: float = 3600.0,
        watch: BrokerWatch | None = None,
    ) -> None:
        self.name = name
        self.db = db
        self.table = tables.outbox
        self.producer = producer
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.retention_hours = retention_hours
        self.replay_seconds = replay_seconds
        self.watch = watch
        # the incarnation whose earlier sends this relay has already queued again
        self._replayed_for: str | None = None
        # One relay per database publishes at a time, so rows go out in id order.
        self.lock_id = zlib.crc32(f"outbox:{name}".encode())
        self._lock_key = literal(self.lock_id, BigInteger)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        # False after a pass that found another relay publishing this outbox.
        self.leader = True
        # Fault injection for tests and chaos runs: publish every record twice.
        self.duplicate_deliveries = False

    async def publish_pending(self) -> int:
        """Publish one batch. Returns how many rows were published (0: none or not leader)."""
        t = self.table
        # Two statements, each its own transaction (autocommit; no BEGIN and COMMIT round
        # trips): the first takes the leader lock, a session-level advisory lock, and reads
        # the batch; the second marks the batch sent and lets the lock go. The CTE runs
        # once; the outer join gives one row without an id when there is nothing to publish
        # or this relay is not the leader, and says which.
        leader = select(
            func.pg_try_advisory_lock(self._lock_key).label("leader"),
            func.clock_timestamp().label("read_at"),
        ).cte("leader")
        pending = (
            select(
                leader.c.leader,
                leader.c.read_at,
                t.c.id,
                t.c.topic,
                t.c.key,
                t.c.value,
                t.c.headers,
            )
            .select_from(leader.outerjoin(t, and_(leader.c.leader, t.c.sent_at.is_(None))))
            .order_by(t.c.id)
            .limit(self.batch_size)
        )
        async with self.db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            found = (await conn.execute(pending)).all()
            self.leader = bool(found and found[0].leader)
            if not self.leader:
                return 0
            released = False
            try:
                rows = [row for row in found if row.id is not None]
                if rows:
                    await self._send(rows)
                    sent = (
                        update(t)
                        .where(t.c.id.in_([r.id for r in rows]))
                        # read before the publish: see the module docstring
                        .values(sent_at=found[0].read_at)
                        .returning(t.c.id)
                        .cte("sent")
                    )
                    # the unlock reads the UPDATE's result, so it runs after the update
                    counted = select(func.count().label("n")).select_from(sent).subquery()
                    await conn.execute(
                        select(func.pg_advisory_unlock(self._lock_key)).select_from(counted)
                    )
                else:
                    await conn.execute(select(func.pg_advisory_unlock(self._lock_key)))
                released = True
            finally:
                if not released:  # the lock must not go back to the pool with the connection
                    await conn.invalidate()
        wakeups.published(row.topic for row in rows)
        for row in rows:
            self.metrics.produced.labels(topic=row.topic).inc()
        return len(rows)

    async def _send(self, rows: list[Any]) -> None:
        """Publish `rows` and wait until the broker acknowledged every one."""
        futures = []
        copies = 2 if self.duplicate_deliveries else 1
        for row in rows:
            for _ in range(copies):
                futures.append(
                    await self.producer.send(
                        row.topic,
                        value=row.value,
                        key=row.key.encode() if row.key else None,
                        headers=[(k, str(v).encode()) for k, v in (row.headers or {}).items()],
                    )
                )
        await asyncio.gather(*futures)

    async def replay(self, born: datetime) -> int | None:
        """Mark rows sent before `born` (and within the replay window) unsent again.

        Runs under the leader lock, so no batch of this outbox is between publish and
        mark meanwhile. Returns how many rows will be sent again; None when another
        relay held the lock (try again later).
        """
        t = self.table
        async with self.db.transaction() as session:
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(self._lock_key))):
                return None
            result = await session.execute(
                update(t)
                .where(
                    t.c.sent_at.is_not(None),
                    t.c.sent_at < born,
                    t.c.sent_at
                    > func.clock_timestamp() - text(f"interval '{self.replay_seconds} seconds'"),
                )
                .values(sent_at=None)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _replay_if_reborn(self) -> None:
        incarnation = self.watch.current if self.watch is not None else None
        if incarnation is None or incarnation.marker == self._replayed_for:
            return
        # A margin for clocks: a row sent to this incarnation just after its birth is
        # sent again (a repeat the inboxes drop), never one sent to the earlier one missed.
        again = await self.replay(incarnation.born + REPLAY_MARGIN)
        if again is None:
            return
        # the first broker this process sees, at its start, is routine (a memory broker
        # starts empty); a broker that changed under a running process is worth a warning
        first, self._replayed_for = self._replayed_for is None, incarnation.marker
        (log.warning if again and not first else log.info)(
            "outbox.replay", relay=self.name, incarnation=incarnation.marker, rows=again
        )
        self.metrics.replayed.inc(again)

    async def backlog(self) -> int:
        async with self.db.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(self.table).where(self.table.c.sent_at.is_(None))
            )
        return int(count or 0)

    async def purge_sent(self) -> int:
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(self.table).where(
                    self.table.c.sent_at
                    < func.now() - text(f"interval '{self.retention_hours} hours'")
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _listen(self) -> None:
        try:
            conn: asyncpg.Connection = await asyncpg.connect(asyncpg_dsn(self.db.url))
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
            self._listener = conn
        except Exception as exc:  # the database away: the polls (and the next pass) cover it
            log.warning("outbox.listen_failed", relay=self.name, error=str(exc))

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Publish until stopped; wakes on a local commit or a NOTIFY, polls as a fallback."""
        await self._listen()
        local = _local_relays.setdefault((self.db.engine.url, self.table), set())
        local.add(self._wake)
        if self.watch is not None:
            self.watch.subscribe(self._wake)
        try:
            await self._run()
        finally:
            local.discard(self._wake)
            if self.watch is not None:
                self.watch.unsubscribe(self._wake)

    async def _run(self) -> None:
        failures = 0
        passes = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self._replay_if_reborn()
                while (published := await self.publish_pending()) == self.batch_size:
                    pass
                failures = 0
                passes += 1
                if not self.leader:  # another relay is publishing: look again shortly, as
                    await self._sleep(0.02)  # the rows that woke this one may be after its batch
                    continue
                if published == 0 and passes % 60 == 0:
                    self.metrics.outbox_backlog.set(await self.backlog())
                    await self.purge_sent()
                if self._listener is None or self._listener.is_closed():
                    # listen again at once: between polls only NOTIFY wakes for other
                    # processes' commits (docs/adr/0030)
                    await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: back off, keep the rows
                failures += 1
                delay = min(0.2 * 2**failures, 10.0)
                log.warning(
                    "outbox.publish_failed", relay=self.name, error=str(exc), retry_in=delay
                )
                self.metrics.outbox_backlog.set(await self._safe_backlog())
                await self._sleep(delay)
                continue
            await self._wait_for_work()

    async def _safe_backlog(self) -> int:
        try:
            return await self.backlog()
        except Exception:
            return -1

    async def _wait_for_work(self) -> None:
        wake = asyncio.ensure_future(self._wake.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait(
                {wake, stop}, timeout=self.poll_seconds, return_when="FIRST_COMPLETED"
            )
        finally:
            wake.cancel()
            stop.cancel()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def stop(self) -> None:
        """Stop after the batch in flight; rows not yet published stay for the next start."""
        self._stopping.set()
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
