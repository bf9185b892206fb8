"""Transactional outbox: messages are written in the business transaction and published after it.

`Outbox.add` inserts rows in the caller's transaction (one fixed statement, prepared once
per connection, whatever the number of rows). When a relay for the same outbox runs in
this process, the commit itself hands it the rows it wrote (a session `after_commit`
hook): the relay publishes them at once, without reading them back (docs/adr/0039), and
marks them sent together with the rows it publishes in the next `MARK_INTERVAL_SECONDS`:
one statement, and one commit that does not wait for the disk, for many passes
(docs/adr/0046). Otherwise the transaction also sends a NOTIFY
(delivered only on commit) for a relay elsewhere.

Only the relay holding the outbox's *lease* publishes: a session-level advisory lock on
its own connection, taken when it has work and let go after `LEASE_IDLE_SECONDS` without
any, so one relay per database publishes at a time and rows go out in commit order, hence
per key in order. A relay that takes the lease first reads what is pending (a crash
between a commit and its publish, rows of other processes, rows marked unsent again) and
publishes it in id order before anything handed to it; so does a relay woken by a NOTIFY,
by its poll or after a failure. A relay that cannot take the lease passes its process's
work to the holder with a NOTIFY. A crash between publish and mark re-publishes on
restart; consumers drop the duplicate through their inbox, so effects happen once. A
rolled-back transaction leaves no row and hands nothing, so nothing is ever published for it.

Sent rows are kept for `AGENTSHOP_OUTBOX_RETENTION_HOURS`: PostgreSQL is the log of
record (docs/adr/0020). When the broker is found to be a new incarnation (it lost its
data, `commerce.platform.incarnation`), the relay marks the rows it sent before that
incarnation was born, within `AGENTSHOP_OUTBOX_REPLAY_SECONDS`, unsent again, and they
are published again in id order with what is new. `sent_at` is a moment before the
publish (the read, or the start of a direct publish), so a row sent to an earlier
incarnation always has a `sent_at` before the next one's birth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
import weakref
import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import Table, delete, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from commerce.contracts import Envelope, Message
from commerce.platform import wakeups
from commerce.platform.db import Database, PlatformTables, asyncpg_dsn, fetch, on_commit
from commerce.platform.incarnation import BrokerWatch
from commerce.platform.metrics import ServiceMetrics
from commerce.platform.tasks import raise_if_cancelled
from commerce.platform.telemetry import inject

log = structlog.get_logger(__name__)

NOTIFY_CHANNEL = "agentshop_outbox"
_NOTIFY = text(f"NOTIFY {NOTIFY_CHANNEL}")
_NOTIFIED_IN = "agentshop.outbox_notified_in"
_WRITTEN = "agentshop.outbox_written"
REPLAY_MARGIN = timedelta(seconds=2)
LEASE_IDLE_SECONDS = 2.0
"""A relay lets its lease go after this long without a row to publish (docs/adr/0039)."""
MARK_INTERVAL_SECONDS = 1.0
"""Rows a commit handed to the relay are marked sent together, at most this long after the
first of them was published (docs/adr/0046)."""


class OutboxRow(NamedTuple):
    """A committed outbox row as the relay publishes it."""

    id: int
    topic: str
    key: str | None
    value: bytes
    headers: list[tuple[str, bytes]]


def _kafka_headers(headers: dict[str, Any] | None) -> list[tuple[str, bytes]]:
    return [(k, str(v).encode()) for k, v in (headers or {}).items()]


def header(headers: Iterable[tuple[str, bytes]] | None, name: str) -> str | None:
    """The value of the header `name` of a record or an outbox row (None without one).
    Every row's headers name its message type (`type`)."""
    for key, value in headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


class _Sent(NamedTuple):
    """What a publish of outbox rows went to: per (topic, partition), the offset after the
    last record there and the message types of the records."""

    ends: dict[tuple[str, int], int]
    types: dict[tuple[str, int], set[str | None]]


@dataclass
class _Written:
    """What a transaction wrote to one outbox: rows to hand to the relay at commit, or
    (rows written in a savepoint, rows marked unsent again) only a reason to read."""

    target: tuple[str, Table]
    rows: list[OutboxRow] = field(default_factory=list)
    read: bool = False


# Relays running in this process, by the database and outbox table they publish (see
# `_hand_local`). Services share one table definition across databases in tests.
_local_relays: dict[tuple[str, Table], set[OutboxRelay]] = {}
_databases: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _database(engine: Engine) -> str:
    """The database `engine` reaches, as a key: its URL, rendered once per engine (a
    SQLAlchemy URL hashes by rendering and quoting itself, on every lookup)."""
    name = _databases.get(engine)
    if name is None:
        name = _databases[engine] = engine.url.render_as_string(hide_password=False)
    return name


@on_commit
@event.listens_for(Session, "after_commit")
def _hand_local(session: Session | AsyncSession) -> None:
    """A transaction that wrote outbox rows committed: hand them to this process's relay."""
    written: _Written | None = session.info.pop(_WRITTEN, None)
    if written is None:
        return
    relays = _local_relays.get(written.target)
    if not relays:
        return  # the relay stopped meanwhile: the rows wait for the next one's read
    holder = next((r for r in relays if r.leased), None) or next(iter(relays))
    holder.hand(written.rows, read=written.read)


@event.listens_for(Session, "after_rollback")
def _forget_written(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


def _insert_sql(table: Table) -> str:
    # One statement text for any number of rows (asyncpg prepares it once per connection);
    # the ids come back in the order of the rows, which is the order they are published in.
    # `created_at` is the moment of the write, not the transaction's start (`now()`): with
    # `sent_at` it shows how long a row waited for commit and publish.
    return (
        f"INSERT INTO {table.name} (message_id, topic, key, type, value, headers, created_at) "
        "SELECT m, t, k, y, v, h::jsonb, clock_timestamp() "
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::text[])"
        " WITH ORDINALITY AS u(m, t, k, y, v, h, n) ORDER BY n "
        "RETURNING id, message_id"
    )


class Outbox:
    """Writes messages to one service database's outbox table."""

    def __init__(self, tables: PlatformTables) -> None:
        self._table = tables.outbox
        self._insert_sql = _insert_sql(self._table)

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
            await self._wake_relay(session, [])
        return len(again)

    async def _insert(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        back = await fetch(
            session,
            self._insert_sql,
            [r["message_id"] for r in rows],
            [r["topic"] for r in rows],
            [r["key"] for r in rows],
            [r["type"] for r in rows],
            [r["value"] for r in rows],
            [json.dumps(r["headers"]) for r in rows],
        )
        ids = {row[1]: row[0] for row in back}
        await self._wake_relay(
            session,
            [
                OutboxRow(
                    ids[r["message_id"]],
                    r["topic"],
                    r["key"],
                    r["value"],
                    _kafka_headers(r["headers"]),
                )
                for r in rows
            ],
        )

    async def _wake_relay(self, session: AsyncSession, rows: list[OutboxRow]) -> None:
        """Have the commit of `session` hand `rows` to (or just wake) the relay of this outbox."""
        target = (_database(session.get_bind().engine), self._table)
        if _local_relays.get(target):
            # A relay in this process publishes this outbox: the commit hands it the rows
            # (`_hand_local`), without a NOTIFY round trip or a read. Rows written in a
            # savepoint are not handed (its rollback would drop them): the relay reads them.
            written: _Written | None = session.info.get(_WRITTEN)
            if written is None or written.target != target:
                written = session.info[_WRITTEN] = _Written(target)
            if rows and not session.in_nested_transaction():
                written.rows.extend(rows)
            else:
                written.read = True
            return
        # One NOTIFY per transaction wakes a relay elsewhere (PostgreSQL delivers it on
        # commit and folds repeats anyway); a savepoint counts as its own, since its
        # rollback drops it.
        transaction = session.get_nested_transaction() or session.get_transaction()
        if transaction is None or session.info.get(_NOTIFIED_IN) is not transaction:
            await session.execute(_NOTIFY)
            # the session's transaction as of the NOTIFY (one of `Database.transaction()`
            # begins with its first SQLAlchemy statement)
            session.info[_NOTIFIED_IN] = (
                session.get_nested_transaction() or session.get_transaction()
            )


class OutboxRelay:
    """Publishes one service database's outbox rows to Kafka (see the module docstring)."""

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
        # One relay per database publishes at a time, so rows go out in order.
        self.lock_id = zlib.crc32(f"outbox:{name}".encode())
        t = self.table.name
        self._read_sql = (
            f"SELECT id, topic, key, value, headers::text AS headers, clock_timestamp() AS read_at"
            f" FROM {t} WHERE sent_at IS NULL ORDER BY id LIMIT $1"
        )
        # the lease and the first read in one statement: the CTE (volatile, so run once and
        # first) takes the lock; the outer join gives one row without an id when there is
        # nothing to publish or another relay holds the lease, and says which
        self._lease_read_sql = (
            "WITH lease AS (SELECT pg_try_advisory_lock($1) AS leader,"
            " clock_timestamp() AS read_at) "
            "SELECT lease.leader, lease.read_at, o.id, o.topic, o.key, o.value,"
            " o.headers::text AS headers"
            f" FROM lease LEFT JOIN {t} o ON lease.leader AND o.sent_at IS NULL"
            " ORDER BY o.id LIMIT $2"
        )
        self._mark_sql = f"UPDATE {t} SET sent_at = $2 WHERE id = ANY($1::bigint[])"
        self._replay_sql = (
            f"UPDATE {t} SET sent_at = NULL WHERE sent_at IS NOT NULL AND sent_at < $1"
            " AND sent_at > clock_timestamp() - make_interval(secs => $2)"
        )
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # run(): the relay's own connection (LISTEN, the lease, its statements)
        self._conn: asyncpg.Connection | None = None
        self.leased = False  # this relay holds the lease on `_conn`
        self._handed: list[OutboxRow] = []  # committed in this process, not yet published
        self._read_due = True  # rows may be pending that nothing handed
        self._asked_read = False  # a commit here asked for a read (rows it did not hand)
        self.lease_idle_seconds = LEASE_IDLE_SECONDS
        self._last_work = 0.0  # monotonic time rows were last published
        # handed rows published and not marked sent yet: their ids, the moment before the
        # first of them was published, and when they are to be marked (monotonic)
        self.mark_interval = MARK_INTERVAL_SECONDS
        self._unmarked: list[int] = []
        self._unmarked_at: datetime | None = None
        self._mark_due = 0.0
        # False after a pass that found another relay holding the lease.
        self.leader = True
        # Fault injection for tests and chaos runs: publish every record twice.
        self.duplicate_deliveries = False

    def hand(self, rows: Iterable[OutboxRow], *, read: bool = False) -> None:
        """Rows a transaction of this process committed: publish them (called at commit)."""
        self._handed.extend(rows)
        if read:
            self._read_due = self._asked_read = True
        self._wake.set()

    # -- one pass --------------------------------------------------------------------------

    async def publish_pending(self) -> int:
        """Read and publish one batch of pending rows on a connection of its own, under the
        lease (taken and let go). Returns how many rows were published (0: none or another
        relay holds the lease)."""
        conn: asyncpg.Connection = await asyncpg.connect(asyncpg_dsn(self.db.url))
        try:
            published = await self._read_and_send(conn, once=True, take_lease=True)
        finally:
            await conn.close(timeout=5)  # ends the session, and the lease with it
        self.leader = published is not None
        return published or 0

    async def _pass(self) -> int:
        """Publish what is pending (when a read is due), then what was handed."""
        conn = await self._connection()
        published = 0
        sent: set[int] = set()
        if not self.leased or self._read_due:
            await self._mark_unmarked()  # a read finds only rows not sent yet
            self._read_due = False
            read = await self._read_and_send(conn, sent=sent, take_lease=not self.leased)
            if read is None:  # another relay holds the lease
                self.leader = False
                if self._handed or self._asked_read:
                    # this process's commits: the relay holding the lease publishes them
                    await conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
                self._handed.clear()
                self._asked_read = False
                return 0
            if not self.leased:
                self.leased = True
                self._last_work = time.monotonic()  # the lease is kept a while from now
            published += read
        self.leader = True
        self._asked_read = False
        handed = [row for row in self._handed if row.id not in sent]
        self._handed.clear()
        for i in range(0, len(handed), self.batch_size):
            chunk = handed[i : i + self.batch_size]
            sent_at = datetime.now(UTC)  # before the publish: see the module docstring
            published_to = await self._send(chunk)
            self._published(chunk, published_to)
            await self._mark_later([r.id for r in chunk], sent_at)
            published += len(chunk)
        return published

    async def _mark_later(self, ids: list[int], sent_at: datetime) -> None:
        """Note published rows to mark sent with what follows within `mark_interval` (one
        statement, and one commit, for many passes); marked now once the interval is up
        or a batch's worth is waiting. A crash before the mark sends them again, as one
        between any publish and its mark does: the inboxes drop the repeats."""
        if not self._unmarked:
            self._unmarked_at = sent_at  # the earliest: before every publish of the group
            self._mark_due = time.monotonic() + self.mark_interval
        self._unmarked.extend(ids)
        if len(self._unmarked) >= self.batch_size or time.monotonic() >= self._mark_due:
            await self._mark_unmarked()

    async def _mark_unmarked(self) -> None:
        """Mark sent the published rows `_mark_later` holds (before a read, a replay, the
        lease let go, a stop). When that fails, the rows stay unsent and are read and sent
        again."""
        if not self._unmarked:
            return
        ids, sent_at = self._unmarked, self._unmarked_at
        self._unmarked, self._unmarked_at = [], None
        conn = self._conn
        if conn is None or conn.is_closed():
            self._read_due = True
            return
        try:
            await conn.execute(self._mark_sql, ids, sent_at)
        except BaseException:
            self._read_due = True
            raise

    async def _read_and_send(
        self,
        conn: asyncpg.Connection,
        *,
        once: bool = False,
        sent: set[int] | None = None,
        take_lease: bool = False,
    ) -> int | None:
        """Publish pending rows in id order, a batch at a time, until none is left (or one
        batch when `once`); the ids published go into `sent`. With `take_lease`, the first
        read takes the lease in the same statement: None when another relay holds it."""
        published = 0
        while True:
            if take_lease:
                take_lease = False
                found = await conn.fetch(self._lease_read_sql, self.lock_id, self.batch_size)
                if not found or not found[0]["leader"]:
                    return None
            else:
                found = await conn.fetch(self._read_sql, self.batch_size)
            self.metrics.outbox_reads.inc()
            rows = [
                OutboxRow(
                    r["id"],
                    r["topic"],
                    r["key"],
                    r["value"],
                    _kafka_headers(json.loads(r["headers"]) if r["headers"] else None),
                )
                for r in found
                if r["id"] is not None
            ]
            if rows:
                published_to = await self._send(rows)
                self._published(rows, published_to)
                # read before the publish: see the module docstring
                await conn.execute(self._mark_sql, [r.id for r in rows], found[0]["read_at"])
                published += len(rows)
                if sent is not None:
                    sent.update(r.id for r in rows)
            if once or len(rows) < self.batch_size:
                return published

    def _published(self, rows: list[OutboxRow], sent: _Sent) -> None:
        """`rows` went to the (topic, partition) pairs of `sent.ends`, which now end there:
        wake the consumers of those that want what went there."""
        self._last_work = time.monotonic()
        wakeups.published(sent.ends, sent.ends, sent.types)
        for row in rows:
            self.metrics.produced.labels(topic=row.topic).inc()

    async def _send(self, rows: list[OutboxRow]) -> _Sent:
        """Publish `rows` and wait until the broker acknowledged every one: the (topic,
        partition) pairs they went to, each with the offset after the last one there and
        the message types of the rows that went there."""
        futures = []
        copies = 2 if self.duplicate_deliveries else 1
        for row in rows:
            for _ in range(copies):
                futures.append(
                    await self.producer.send(
                        row.topic,
                        value=row.value,
                        key=row.key.encode() if row.key else None,
                        headers=row.headers,
                    )
                )
        acknowledged = await asyncio.gather(*futures)
        done = _Sent({}, {})
        for n, sent in enumerate(acknowledged):
            key = (sent.topic, sent.partition)
            done.ends[key] = max(done.ends.get(key, 0), sent.offset + 1)
            done.types.setdefault(key, set()).add(header(rows[n // copies].headers, "type"))
        return done

    # -- the lease and the connection -----------------------------------------------------

    async def _connection(self) -> asyncpg.Connection:
        """The relay's own connection (run()): LISTENs, holds the lease, runs its statements."""
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        self._conn = None
        self.leased = False  # a lock dies with its session
        # Marking rows sent does not wait for the WAL to reach the disk: a mark a crash of
        # PostgreSQL loses only sends those rows again, as a crash between publish and
        # mark does (the inboxes drop the repeats). Marking rows unsent again (`replay`)
        # waits, as every write of the services does.
        conn: asyncpg.Connection = await asyncpg.connect(
            asyncpg_dsn(self.db.url), server_settings={"synchronous_commit": "off"}
        )
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self._read_due = True  # NOTIFYs may have been missed while there was no connection
        return conn

    async def _release(self) -> None:
        if self.leased and self._conn is not None and not self._conn.is_closed():
            self.leased = False
            try:
                await self._mark_unmarked()  # before another relay may read the outbox
            finally:
                await self._conn.execute("SELECT pg_advisory_unlock($1)", self.lock_id)
        self.leased = False

    async def _close(self) -> None:
        try:
            await self._mark_unmarked()
        except Exception as exc:  # the rows stay unsent: the next relay sends them again
            log.info("outbox.mark_failed", relay=self.name, error=str(exc))
        conn, self._conn = self._conn, None
        self.leased = False
        if conn is None or conn.is_closed():
            return
        try:  # a graceful close returns once the server ended the session (and its lock)
            await asyncio.shield(conn.close(timeout=2))
        except Exception:
            conn.terminate()

    @contextlib.asynccontextmanager
    async def _lease(self) -> AsyncIterator[asyncpg.Connection | None]:
        """A connection holding the lease (None when another relay holds it): within run(),
        the relay's own, whose lease it keeps; otherwise one for this call."""
        if self._conn is not None:
            conn = await self._connection()
            if not self.leased:
                self.leased = bool(
                    await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_id)
                )
                self._read_due = self._read_due or self.leased  # a new lease reads first
            self.leader = self.leased
            yield conn if self.leased else None
            return
        conn = await asyncpg.connect(asyncpg_dsn(self.db.url))
        try:
            self.leader = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_id))
            yield conn if self.leader else None
        finally:
            await conn.close(timeout=5)  # ends the session, and the lock with it

    # -- replay, backlog, retention ---------------------------------------------------------

    async def replay(self, born: datetime) -> int | None:
        """Mark rows sent before `born` (and within the replay window) unsent again.

        Runs under the lease, so no batch of this outbox is between publish and mark
        meanwhile. Returns how many rows will be sent again; None when another relay held
        the lease (try again later).
        """
        async with self._lease() as conn:
            if conn is None:
                return None
            own = conn is self._conn  # the relay's connection, in run()
            if own:
                await self._mark_unmarked()  # then nothing published is waiting for its mark
            async with conn.transaction():  # durable before anything is sent again
                await conn.execute("SET LOCAL synchronous_commit = on")
                status = await conn.execute(self._replay_sql, born, float(self.replay_seconds))
        again = int(status.split()[-1]) if status.startswith("UPDATE") else 0
        if again:
            self._read_due = True
        return again

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

    def _notified(self, _conn: Any, pid: int, _channel: str, _payload: str) -> None:
        # a NOTIFY of this relay's own session passes work on to another relay: not to itself
        if self._conn is not None and pid == self._conn.get_server_pid():
            return
        self._read_due = True
        self._wake.set()

    # -- the loop -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until stopped; wakes on a local commit or a NOTIFY, polls as a fallback."""
        local = _local_relays.setdefault((_database(self.db.engine.sync_engine), self.table), set())
        local.add(self)
        if self.watch is not None:
            self.watch.subscribe(self._wake)
        try:
            await self._run()
        finally:
            local.discard(self)
            if self.watch is not None:
                self.watch.unsubscribe(self._wake)
            await self._close()

    async def _run(self) -> None:
        failures = 0
        passes = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self._connection()
                await self._replay_if_reborn()
                published = await self._pass()
                failures = 0
                passes += 1
                if published == 0 and passes % 60 == 0:
                    self.metrics.outbox_backlog.set(await self.backlog())
                    await self.purge_sent()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database away: back off, keep the rows
                raise_if_cancelled(exc)
                failures += 1
                self.metrics.outbox_failures.inc()
                delay = min(0.2 * 2**failures, 10.0)
                log.warning(
                    "outbox.publish_failed", relay=self.name, error=str(exc), retry_in=delay
                )
                # what was handed is still in the table, unsent: the next pass reads it
                self._handed.clear()
                self._unmarked.clear()
                self._read_due = True
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
        """Until a commit hands rows, a NOTIFY or the broker watch wakes the relay, or the
        poll comes (a read, the fallback); meanwhile published rows are marked sent when
        their interval is up, and the lease goes after `lease_idle_seconds` idle. What the
        relay does when a wait times out follows the deadline it waited for (a timer may
        fire a little early: the poll's read must not stand in for a mark or a release)."""
        poll_at = time.monotonic() + self.poll_seconds
        while not self._stopping.is_set():
            deadline, then = poll_at, self._poll
            if self._unmarked and self._mark_due < deadline:
                deadline, then = self._mark_due, self._mark_when_due
            lease_ends = self._last_work + self.lease_idle_seconds
            if self.leased and lease_ends < deadline:
                deadline, then = lease_ends, self._let_lease_go
            if await self._woken(max(deadline - time.monotonic(), 0.0)) or await then():
                return

    async def _poll(self) -> bool:
        self._read_due = True
        return True  # a pass reads the outbox

    async def _mark_when_due(self) -> bool:
        try:
            await self._mark_unmarked()
        except Exception as exc:  # the rows are read and sent again
            log.info("outbox.mark_failed", relay=self.name, error=str(exc))
            return True
        return False  # wait on

    async def _let_lease_go(self) -> bool:
        try:
            await self._release()
        except Exception as exc:  # the connection is gone, and the lock with it
            log.info("outbox.release_failed", relay=self.name, error=str(exc))
        return False

    async def _woken(self, seconds: float) -> bool:
        wake = asyncio.ensure_future(self._wake.wait())
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            done, _ = await asyncio.wait(
                {wake, stop}, timeout=seconds, return_when="FIRST_COMPLETED"
            )
        finally:
            wake.cancel()
            stop.cancel()
        return bool(done)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def stop(self) -> None:
        """Stop after the batch in flight; rows not yet published stay for the next start."""
        self._stopping.set()
