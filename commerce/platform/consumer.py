"""Idempotent Kafka consumer: inbox + handler writes in one transaction, offsets after commit.

Per partition, records are handled strictly in order; partitions run concurrently,
each at its own pace. The records one partition fetched share one transaction, and are
claimed in the inbox by one statement (docs/adr/0039); when any of them fails, that
transaction rolls back and they are handled one per transaction (docs/adr/0016). A
handler that keeps failing is retried a bounded number of times with backoff, then the
record is dead-lettered (kept in the `dead_letter` table and published to `<topic>.dlq`
through the outbox, in one transaction) and the partition moves on. Offsets are committed
only for records whose outcome is durable, once a second for everything handled meanwhile
(`KAFKA_COMMIT_INTERVAL_MS`, docs/adr/0042), so a crash at any point redelivers, and the
inbox turns the redelivery into a no-op.

No handler waits on the network inside its transaction (docs/adr/0032): a handler's
`prepare` runs before the transaction opens (a call whose answer it needs), and what it
passes to `ctx.after_commit` runs once the transaction committed (a call its writes ask for).

A broker that restarted empty (a new incarnation, `commerce.platform.incarnation`) has
lost the group's offsets too: the consumer then reads every assigned partition again
from its beginning (the outboxes send again what the broker lost, docs/adr/0020), and
offsets of records fetched from the earlier incarnation are not committed to the new one.
A position found past a partition's end (an offset from the earlier broker) is reset to
its beginning too, whenever it is seen (checked once a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts import REGISTRY, Envelope, Message, MessageError, dlq_topic
from commerce.platform import wakeups
from commerce.platform.db import Database, PlatformTables, fetch
from commerce.platform.kafka import start_consumer
from commerce.platform.logging import bound
from commerce.platform.metrics import ServiceMetrics
from commerce.platform.outbox import Outbox, header
from commerce.platform.runtime import Runtime
from commerce.platform.tasks import raise_if_cancelled
from commerce.platform.telemetry import consumer_span

log = structlog.get_logger(__name__)

M = TypeVar("M", bound=Message)

# How long a batch's transaction waits for a row lock before it gives up and its records
# are handled one per transaction (see `ConsumerRunner._process_batch`).
_BATCH_LOCK_TIMEOUT = "200ms"


def _claim_sql(inbox: str) -> str:
    """One record's inbox claim: a row back when the message is new here."""
    return (
        f'INSERT INTO {inbox} (consumer, message_id, type, topic, partition, "offset") '
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING message_id"
    )


def _claim_batch_sql(inbox: str) -> str:
    """A batch's inbox claims in one statement (the ids back are the new ones), which also
    sets the batch transaction's `lock_timeout` (`set_config(..., true)` is `SET LOCAL`)."""
    return (
        "WITH settings AS (SELECT set_config('lock_timeout', $7, true) AS lock_timeout) "
        f'INSERT INTO {inbox} (consumer, message_id, type, topic, partition, "offset") '
        "SELECT $1, m, y, t, p, o FROM settings, "
        "unnest($2::uuid[], $3::text[], $4::text[], $5::int[], $6::bigint[]) AS u(m, y, t, p, o) "
        "ON CONFLICT DO NOTHING RETURNING message_id"
    )


# How many handlers' `prepare` calls of one batch run at once (before its transaction).
_PREPARE_CONCURRENCY = 8

REPLAY_TARGET_HEADER = "dlq.target"
"""A replayed dead letter names the consumer that gave up on it; every other consumer
group of its (shared) topic skips it (docs/adr/0022-edges-and-trust.md)."""


class ConsumerStalled(RuntimeError):
    """Records wait for the consumer, and no fetch has brought any for `stall_seconds`."""


class PartitionsChanged(RuntimeError):
    """The consumer's topics went missing from the broker or changed their partition
    count since it joined: it joins again as a new member (`PartitionWatch`)."""


def replay_target(record: ConsumerRecord[bytes, bytes]) -> str | None:
    return header(record.headers, REPLAY_TARGET_HEADER)


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that say the database cannot be reached, rather than that the work failed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    cause = getattr(exc, "orig", None) or exc.__cause__ or exc
    # SQLAlchemy's asyncpg adapter wraps the driver's error: look at what it wraps too
    causes = (cause, getattr(cause, "__cause__", None))
    unavailable = (
        OSError, ConnectionError, asyncpg.PostgresConnectionError, asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
    )  # fmt: skip
    return (
        any(isinstance(c, unavailable) for c in causes)
        # SQLSTATE class 08 (connection exception) and 57P0x (shutdown, starting up)
        or any(str(getattr(c, "sqlstate", "") or "").startswith(("08", "57P0")) for c in causes)
        or "connection was closed" in str(exc)
    )


EXPECTED_ROUNDS = 3
"""Fetch rounds (`getmany` calls that return) a partition is fetched while its records
are expected and none came: a partition resumed while a fetch was in flight is in the
next request only, and a fetch may return before the broker shows a just-acknowledged
record (docs/adr/0030). Besides, a fetch must have asked for the partition since it was
resumed and found nothing beyond what was taken (`_answered`)."""

# What aiokafka raises for a partition that is not assigned (any more): during a rebalance,
# e.g. after the broker restarted, a partition fetched a moment ago may be gone, and the
# whole assignment is briefly None (an AssertionError inside aiokafka).
NOT_ASSIGNED = (IllegalStateError, AssertionError)


def _pause(consumer: AIOKafkaConsumer, tps: Any) -> None:
    for tp in tps:
        with contextlib.suppress(*NOT_ASSIGNED):  # revoked meanwhile: nothing to pause
            consumer.pause(tp)


def _resume(consumer: AIOKafkaConsumer, tps: Any) -> None:
    for tp in tps:
        with contextlib.suppress(*NOT_ASSIGNED):
            consumer.resume(tp)


async def _positions(consumer: AIOKafkaConsumer) -> list[tuple[TopicPartition, int, int]] | None:
    """(partition, position, end) of each assigned partition whose end a fetch has told,
    or None while a position is unknown (e.g. being reset: it is not waited for)."""
    tps = [tp for tp in consumer.assignment() if _highwater(consumer, tp) is not None]
    try:  # positions are known locally
        positions = await asyncio.wait_for(
            asyncio.gather(*(consumer.position(tp) for tp in tps), return_exceptions=True), 0.2
        )
    except TimeoutError:
        return None
    found = []
    for tp, position in zip(tps, positions, strict=True):
        high = _highwater(consumer, tp)
        if not isinstance(position, int) or high is None:
            return None
        found.append((tp, position, high))
    return found


def _partition_state(consumer: AIOKafkaConsumer, tp: TopicPartition) -> Any:
    """aiokafka's state of an assigned partition (position, highwater, when last fetched),
    or None when `tp` is not assigned (any more)."""
    try:
        return consumer._subscription.subscription.assignment.state_value(tp)
    except (AttributeError, KeyError, *NOT_ASSIGNED):
        return None


async def _behind(consumer: AIOKafkaConsumer, tps: set[TopicPartition]) -> set[TopicPartition]:
    """Those of `tps` whose end on the broker is past the consumer's position: records
    published by another process. One request for all of them, instead of fetching each
    until its answer comes; all of them when the broker does not answer (then they are
    fetched)."""
    if not tps:
        return set()
    try:
        ends = await asyncio.wait_for(consumer.end_offsets(list(tps)), 1.0)
    except (KafkaError, TimeoutError, *NOT_ASSIGNED):
        return set(tps)
    behind = set()
    for tp in tps:
        state = _partition_state(consumer, tp)
        if state is None:  # not assigned (any more)
            continue
        end = ends.get(tp)
        if end is None or not state.has_valid_position or state.position < end:
            behind.add(tp)
    return behind


async def _waiting(consumer: AIOKafkaConsumer) -> int | None:
    """Records between the consumer's positions and its partitions' ends, as far as its
    last fetches know them (None while a position is unknown)."""
    found = await _positions(consumer)
    return None if found is None else sum(max(high - pos, 0) for _, pos, high in found)


async def _fetch(
    consumer: AIOKafkaConsumer, max_records: int
) -> dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]:
    """One `getmany` round; the partitions it brought records for are paused before
    aiokafka's fetcher runs again, so it sends no fetch for them while they are handled."""
    batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = await consumer.getmany(
        timeout_ms=200, max_records=max_records
    )
    _pause(consumer, batch)
    return batch


def _caught_up(
    consumer: AIOKafkaConsumer,
    tasks: list[asyncio.Task[tuple[TopicPartition, int | None]]],
    stale: set[TopicPartition],
) -> set[TopicPartition]:
    """The finished partitions whose last record handled was the partition's last as the
    fetch that brought it knew (its highwater): a fetch now would find nothing newer,
    unless something was published since (which wakes the consumer)."""
    assigned = consumer.assignment()
    found: set[TopicPartition] = set()
    for task in tasks:
        tp, last = task.result()
        if last is None or tp in stale or tp not in assigned:
            continue
        high = _highwater(consumer, tp)
        # the fetch may have come before the broker showed records acknowledged already
        if high is not None and last + 1 >= max(high, wakeups.end(tp.topic, tp.partition)):
            found.add(tp)
    return found


def _answered(consumer: AIOKafkaConsumer, tp: TopicPartition, since_ms: int) -> bool:
    """Whether a fetch response for `tp` came after `since_ms` (wall clock, as aiokafka
    stamps them) and the consumer has taken every record it showed and every record known
    published there. Until then records may be on their way or buffered: pausing the
    partition would make aiokafka drop them, and a paused partition is fetched again only
    when something is published to it."""
    state = _partition_state(consumer, tp)
    if state is None:  # not assigned (any more)
        return True
    if state.timestamp is None or state.timestamp <= since_ms or state.highwater is None:
        return False
    end = max(state.highwater, wakeups.end(tp.topic, tp.partition))
    return bool(state.has_valid_position and end <= state.position)


class PartitionWatch:
    """Follows the partition counts of a consumer's topics in its client's metadata.

    A group's assignment is made from the leader's metadata. After a broker restart the
    consumer rejoins before its topics are created again, and is assigned nothing of
    them; when they are back aiokafka's leader rejoins, but Tansu answers a rejoin of the
    same members with the assignment it already has. So a consumer whose topics went
    missing (or changed their partition count) joins again as a new member once they are
    all back (`PartitionsChanged`), and asks for the metadata every second meanwhile:
    aiokafka would ask again only after `metadata.max.age` (5 minutes). docs/adr/0044."""

    def __init__(self, consumer: AIOKafkaConsumer, topics: list[str]) -> None:
        self.consumer = consumer
        self.topics = topics
        self.joined_with = self._counts()
        self.changed = False
        # aiokafka calls it on every metadata update of this consumer's client
        self._cluster = consumer._client.cluster
        self._cluster.add_listener(self._on_metadata)

    def _counts(self) -> dict[str, int]:
        return {t: len(self.consumer.partitions_for_topic(t) or ()) for t in self.topics}

    def _on_metadata(self, _cluster: Any) -> None:
        if self._counts() != self.joined_with:
            self.changed = True

    def check(self) -> None:
        """Raise `PartitionsChanged` once every topic is back after a change; ask for the
        metadata again while one is missing."""
        if not self.changed:
            return
        if not all(self._counts().values()):
            self.consumer._client.force_metadata_update()
            return
        raise PartitionsChanged(f"partitions now {self._counts()}, joined with {self.joined_with}")

    def close(self) -> None:
        self._cluster.remove_listener(self._on_metadata)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _highwater(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    try:
        high: int | None = consumer.highwater(tp)
    except NOT_ASSIGNED:
        return None
    return high


@dataclass
class MessageContext:
    """What a handler gets besides its message: the transaction and a way to publish."""

    session: AsyncSession
    envelope: Envelope
    outbox: Outbox
    services: Runtime | None = None
    prepared: Any = None  # what the handler's `prepare` answered, before the transaction
    later: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def after_commit(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` once this message's transaction has committed (never when it rolls
        back): the place for a network call the handler's writes ask for, e.g. sending an
        email it recorded (docs/adr/0032). Not durable by itself: a crash after the commit
        loses it, so the service must also find and finish such work later (a sweep)."""
        self.later.append(work)

    @property
    def runtime(self) -> Runtime:
        """The service this message is handled for."""
        if self.services is None:
            raise RuntimeError("this consumer runs without a service runtime")
        return self.services

    @property
    def correlation_id(self) -> str | None:
        return self.envelope.correlation_id

    async def publish(self, message: Message, *, key: str | None = None) -> Envelope:
        """Publish after commit, with this message's correlation id and as its cause."""
        return await self.outbox.add(
            self.session,
            message,
            correlation_id=self.envelope.correlation_id,
            causation_id=self.envelope.message_id,
            key=key,
        )


@dataclass(frozen=True)
class Handler(Generic[M]):
    """Handles one message type; consumed from the message's own topic unless `topic` is set.

    `prepare`, when set, runs before the handler's transaction opens, with the message and
    the service's runtime: the place for a call to another service the handler needs the
    answer of (no network call inside a transaction, docs/adr/0032). Its answer reaches the
    handler as `ctx.prepared`; it runs again before each retry. The handler must still
    check, under its locks, that the state the answer was asked for is the state it finds.

    `wanted`, when set, says from the message alone whether the handler acts on it (a
    coupon to count, a notification of its own channel). A message it does not want is
    passed over like a type the service does not handle: no transaction, no inbox claim,
    nothing to deduplicate since nothing happens. It must depend on the message only, so
    every delivery of a message gets the same answer.
    """

    message: type[M]
    fn: Callable[[M, MessageContext], Awaitable[None]]
    topic: str | None = None
    prepare: Callable[[M, Runtime], Awaitable[Any]] | None = None
    wanted: Callable[[M], bool] | None = None

    def wants(self, message: M) -> bool:
        return self.wanted is None or self.wanted(message)

    @property
    def source(self) -> str:
        return self.topic or self.message.TOPIC


@dataclass
class ConsumerRunner:
    """Consumes a service's topics as the consumer group `agentshop.<service>`."""

    name: str
    db: Database
    tables: PlatformTables
    outbox: Outbox
    consumer_factory: Callable[..., AIOKafkaConsumer]
    handlers: Sequence[Handler[Any]]
    metrics: ServiceMetrics
    max_attempts: int = 3
    backoff_seconds: float = 0.2
    services: Runtime | None = None
    batch_records: int = 500
    idle_fetch_interval: float = 0.0  # seconds; 0: fetch continuously even when idle
    commit_interval: float = 0.0  # seconds between offset commits; 0: after each batch
    watch: Any = None  # a BrokerWatch: read from the beginning when the broker restarted empty
    stall_seconds: float = 30.0  # records waiting and none fetched this long: start again
    _by_type: dict[str, Handler[Any]] = field(init=False)
    _consumer: AIOKafkaConsumer | None = field(default=None, init=False)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _started: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _idle: set[TopicPartition] = field(default_factory=set, init=False)
    _in_hand: int = field(default=0, init=False)  # records fetched and not yet handled
    # offsets of handled records not committed yet (with a `commit_interval`)
    _owed: dict[TopicPartition, OffsetAndMetadata] = field(default_factory=dict, init=False)
    _owing: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self._by_type = {h.message.TYPE: h for h in self.handlers}
        self._handled: dict[str, frozenset[str]] = {
            topic: frozenset(h.message.TYPE for h in self.handlers if h.source == topic)
            for topic in self.topics
        }
        self._known: dict[str, frozenset[str]] = {}
        self._claim_sql = _claim_sql(self.tables.inbox.name)
        self._claim_batch_sql = _claim_batch_sql(self.tables.inbox.name)

    def _belongs(self, topic: str, type_name: str) -> bool:
        """Whether a type we do not handle is one the topic carries (another consumer
        group's); anything else on it is a message no one will handle: dead-lettered."""
        known = self._known.get(topic)
        if known is None:
            known = self._known[topic] = frozenset(
                {m.TYPE for m in REGISTRY.all() if topic == m.TOPIC}
                | {h.message.TYPE for h in self.handlers if h.source == topic}
            )
        return type_name in known

    def _wants(self, topic: str, type_name: str) -> bool:
        """Whether a record of this type in `topic` is work here: one a handler takes, or
        one that belongs to no consumer group (to be dead-lettered). A publish of nothing
        else does not wake this consumer (`wakeups`)."""
        return type_name in self._handled.get(topic, ()) or not self._belongs(topic, type_name)

    def _passed_over(self, record: ConsumerRecord[bytes, bytes]) -> str | None:
        """The type of a record another consumer group handles, named by its `type` header,
        which the outbox writes on every record: passed over without decoding it. None when
        the record is to be decoded (no such header, a type handled here, or one that
        belongs to no group: to be dead-lettered)."""
        named = header(record.headers, "type")
        if named is None or named in self._by_type or not self._belongs(record.topic, named):
            return None
        return named

    def _not_ours(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """A replayed dead letter meant for another consumer group."""
        target = replay_target(record)
        return target is not None and target != self.name

    @property
    def idle(self) -> bool:
        """True while the partitions are paused for lack of records (see `idle_fetch_interval`)."""
        return bool(self._idle)

    async def backlog(self) -> int | None:
        """Records of this consumer's partitions not yet handled: fetched and in hand, plus
        those between its position and the partition's end (None before it has joined)."""
        consumer = self._consumer
        if consumer is None or not self._started.is_set():
            return None
        waiting = await _waiting(consumer)
        return None if waiting is None else waiting + self._in_hand

    @property
    def group_id(self) -> str:
        return f"agentshop.{self.name}"

    @property
    def topics(self) -> list[str]:
        return sorted({h.source for h in self.handlers})

    async def run(self) -> None:
        """Consume until stopped. Should the consuming fail unexpectedly, it starts again
        as a new member of the group after a pause (what it had fetched and not committed
        is delivered again; the inbox drops what was already handled): a consumer that
        stopped for good would leave its service's work, and sagas waiting on it, stuck."""
        while True:
            try:
                await self._consume()
                return
            except asyncio.CancelledError:
                raise
            except PartitionsChanged as exc:
                log.warning("consumer.rejoin", consumer=self.name, reason=str(exc))
                self.metrics.consumer_restarts.inc()
            except Exception:
                if self._stopping.is_set():
                    raise
                log.exception("consumer.failed", consumer=self.name)
                self.metrics.consumer_restarts.inc()
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        consumer = self.consumer_factory(
            *self.topics, group_id=self.group_id, max_poll_records=self.batch_records
        )
        self._consumer = consumer
        while not self._stopping.is_set():
            try:
                await start_consumer(consumer)
                break
            except KafkaError as exc:
                log.warning("consumer.start_failed", consumer=self.name, error=str(exc))
                await asyncio.sleep(1.0)
        self._started.set()
        log.debug("consumer.started", consumer=self.name, topics=self.topics)
        self._owed.clear()  # a member starting again starts from what was committed
        committer = (
            asyncio.create_task(self._commit_every(consumer)) if self.commit_interval > 0 else None
        )
        # Each partition's records run as their own task while the consumer keeps fetching
        # for the others: a slow message (e.g. a checkout re-priced over HTTP) holds up only
        # its own partition. A partition with work in flight is paused, so its next records
        # are fetched only after these are done and their offsets committed.
        inflight: dict[TopicPartition, asyncio.Task[tuple[TopicPartition, int | None]]] = {}
        fetch: asyncio.Task[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]] | None = None
        # Fetching on demand (with an idle interval, docs/adr/0013): a partition is fetched
        # only while records are expected in it: when it was newly assigned, when a relay
        # in this process (or a sibling) published to it, when the fetch that brought its
        # last records said more were behind them, and for one round each
        # `idle_fetch_interval` (records published elsewhere). Any other partition is paused
        # (aiokafka sends no fetch for it): after records came for the others, after an
        # empty fetch, and once its own records are handled. Without the interval every
        # partition is fetched all the time.
        wake = asyncio.Event()
        named: set[tuple[str, int]] = set()  # (topic, partition) published to, since woken
        # fetched because records are expected there: the fetch round when they were
        # and when it was resumed (ms, `_answered`)
        awaited: dict[TopicPartition, tuple[int, int]] = {}
        rounds = 0  # fetch rounds so far
        owed: set[TopicPartition] = set()  # published to while its records were in hand
        known: set[TopicPartition] = set()  # the assignment as last seen
        on_demand = self.idle_fetch_interval > 0
        woken: asyncio.Task[bool] | None = None
        idle = self._idle
        idle.clear()  # a consumer starting again starts with every partition fetched
        idle_until = 0.0
        loop = asyncio.get_running_loop()
        if self.idle_fetch_interval > 0:
            wakeups.register(self.topics, wake, named, self._wants)
        seen = self.watch.generation if self.watch is not None else 0
        stale: set[TopicPartition] = set()  # in flight from an earlier incarnation
        if self.watch is not None:
            self.watch.subscribe(wake)
        next_range_check = 0.0
        partitions = PartitionWatch(consumer, self.topics)
        progress = loop.time()  # when records last came or finished
        waiting_since = 0.0  # when records were first seen waiting with none coming
        try:
            while not self._stopping.is_set():
                if self.watch is not None and self.watch.generation != seen:
                    if seen:
                        stale.update(inflight)
                        self._owed.clear()  # offsets of the earlier broker's records
                        if committer is not None:
                            # a commit of those still being retried would land in the new
                            # broker, and a member joining later would skip records there
                            committer.cancel()
                            committer = asyncio.create_task(self._commit_every(consumer))
                        await self._from_beginning(consumer)
                    seen = self.watch.generation
                if loop.time() >= next_range_check:
                    next_range_check = loop.time() + 1.0
                    partitions.check()
                    await self._reset_beyond_end(consumer)
                    if (
                        not inflight
                        and loop.time() - progress > self.stall_seconds
                        and (await _waiting(consumer) or 0) > 0
                    ):
                        # Records wait, nothing is in hand, and no fetch has brought any for
                        # a long while: a state aiokafka does not leave by itself (seen after
                        # broker restarts); a new member starts from the committed offsets.
                        # The records must have waited that long too: after a quiet spell
                        # longer than that, the first records are seen waiting before the
                        # fetch that brings them returns.
                        waiting_since = waiting_since or loop.time()
                        if loop.time() - waiting_since > self.stall_seconds:
                            raise ConsumerStalled(f"{self.name}: records wait and none come")
                    else:
                        waiting_since = 0.0
                assignment = consumer.assignment()
                if assignment != known:  # (re)assigned: records may wait in the new ones
                    awaited = {tp: r for tp, r in awaited.items() if tp in assignment}
                    awaited.update((tp, (rounds, _now_ms())) for tp in assignment - known)
                    known = set(assignment)
                # With every partition paused (idle or in hand) a fetch would only wait out
                # its timeout and come back empty, five times a second: none runs until a
                # wake-up, the idle interval or finished work resumes one.
                resting = bool(assignment) and assignment <= consumer.paused()
                if fetch is None and not (resting and (idle or inflight)):
                    fetch = asyncio.create_task(_fetch(consumer, self.batch_records))
                waits: set[asyncio.Future[Any]] = set(inflight.values())
                if fetch is not None:
                    waits.add(fetch)
                if idle:
                    if woken is None:
                        woken = asyncio.create_task(wake.wait())
                    waits.add(woken)
                done, _ = await asyncio.wait(
                    waits,
                    timeout=max(idle_until - loop.time(), 0.0) if idle else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if idle and (woken in done or loop.time() >= idle_until):
                    # A publish here or in a sibling (fetch the partitions it went to until
                    # their records come) or the interval (records published by other
                    # processes: the partitions the broker says have some).
                    woke = woken in done
                    wake.clear()
                    published_to = set(named)
                    named.clear()
                    if woken is not None:
                        woken.cancel()
                        woken = None
                    assigned = consumer.assignment()
                    if (
                        woke
                        and published_to
                        and wakeups.ALL_PARTITIONS not in {p for _, p in published_to}
                    ):
                        # the partitions published to; one whose records are in hand is
                        # fetched again once they are done
                        published = {
                            tp for tp in assigned if (tp.topic, tp.partition) in published_to
                        }
                        owed.update(published & inflight.keys())
                        chosen = published
                    elif woke:  # a wake-up for whole topics: every partition
                        chosen = set(idle)
                    else:
                        chosen = await _behind(consumer, idle & assigned)
                        if idle - chosen:
                            idle_until = loop.time() + self.idle_fetch_interval
                    asked = (rounds, _now_ms())
                    awaited.update((tp, asked) for tp in chosen - inflight.keys())
                    chosen &= idle
                    _resume(
                        consumer, [tp for tp in chosen if tp in assigned and tp not in inflight]
                    )
                    idle.difference_update(chosen)
                if fetch is not None and fetch in done:
                    fetched, fetch = fetch, None
                    try:
                        batch = fetched.result()
                    except KafkaError as exc:  # broker away: aiokafka reconnects on the next poll
                        log.warning("consumer.poll_failed", consumer=self.name, error=str(exc))
                        await asyncio.sleep(1.0)
                        batch = {}
                    rounds += 1
                    for tp, records in batch.items():  # paused by `_fetch` already
                        awaited.pop(tp, None)
                        inflight[tp] = asyncio.create_task(
                            self._run_partition(tp, records, after=inflight.get(tp))
                        )
                    if batch:
                        progress = loop.time()
                    if on_demand:
                        # Partitions fetched with nothing expected in them any more are
                        # paused, also while others have work in flight (docs/adr/0016).
                        for tp, (since, asked_ms) in list(awaited.items()):
                            if rounds - since >= EXPECTED_ROUNDS and _answered(
                                consumer, tp, asked_ms
                            ):
                                del awaited[tp]
                        unexpected = consumer.assignment() - consumer.paused() - awaited.keys()
                        if unexpected:
                            if not idle:
                                idle_until = loop.time() + self.idle_fetch_interval
                            idle.update(unexpected)
                            _pause(consumer, unexpected)
                finished = [tp for tp, task in inflight.items() if task.done()]
                if finished:
                    progress = loop.time()
                    done_tasks = [inflight.pop(tp) for tp in finished]
                    caught_up = (
                        _caught_up(consumer, done_tasks, stale) - owed if on_demand else set()
                    )
                    owed.difference_update(finished)
                    asked = (rounds, _now_ms())
                    awaited.update((tp, asked) for tp in finished if tp not in caught_up)
                    await self._complete(consumer, done_tasks, stale=stale, keep_paused=caught_up)
                    if caught_up:
                        # nothing was behind these records when they were fetched: paused
                        if not idle:
                            idle_until = loop.time() + self.idle_fetch_interval
                        idle.update(caught_up)
                    stale.difference_update(finished)
        finally:
            partitions.close()
            if self.watch is not None:
                self.watch.unsubscribe(wake)
            if self.idle_fetch_interval > 0:
                wakeups.unregister(self.topics, wake)
            if woken is not None:
                woken.cancel()
            try:
                if inflight:  # finish the work in flight and commit it before leaving the group
                    await asyncio.wait(inflight.values())
                    await self._complete(
                        consumer, list(inflight.values()), resume=False, stale=stale
                    )
            finally:  # leave the group whatever happened to that work
                if fetch is not None:
                    fetch.cancel()
                if committer is not None:
                    committer.cancel()
                    await self._commit_owed(consumer)
                await consumer.stop()
                log.info("consumer.stopped", consumer=self.name)

    async def _complete(
        self,
        consumer: AIOKafkaConsumer,
        tasks: list[asyncio.Task[tuple[TopicPartition, int | None]]],
        *,
        resume: bool = True,
        stale: set[TopicPartition] | None = None,
        keep_paused: set[TopicPartition] | None = None,
    ) -> None:
        """Commit the offsets of finished partitions and let them be fetched again (those
        in `keep_paused` stay paused)."""
        results = [task.result() for task in tasks]  # a failure here stops the consumer
        offsets = {
            tp: OffsetAndMetadata(last + 1, "")
            for tp, last in results
            if last is not None and tp not in (stale or ())
        }
        if offsets and self.commit_interval > 0:
            self._owed.update(offsets)  # later records of a partition finish later
            self._owing.set()
        elif offsets:
            await self._commit(consumer, offsets)
        assigned = consumer.assignment()
        if resume:
            _resume(
                consumer,
                [tp for tp, _ in results if tp in assigned and tp not in (keep_paused or ())],
            )
        await self._record_lag(consumer, [tp for tp, _ in results if tp in assigned])

    async def _commit(
        self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]
    ) -> None:
        try:
            await consumer.commit(offsets)
        except (KafkaError, *NOT_ASSIGNED) as exc:
            # rebalanced meanwhile, or the broker is away: these records are delivered
            # again (to this or another member) and the inbox drops the repeats
            log.warning("consumer.commit_failed", consumer=self.name, error=str(exc))

    async def _commit_owed(self, consumer: AIOKafkaConsumer) -> None:
        if self._owed:
            offsets, self._owed = self._owed, {}
            await self._commit(consumer, offsets)

    async def _commit_every(self, consumer: AIOKafkaConsumer) -> None:
        """Commit the handled records' offsets once every `commit_interval` (docs/adr/0042):
        one request for everything handled meanwhile instead of one per batch, and the
        consuming never waits for it. A crash redelivers at most that much, which the
        inbox drops. Idle, it sleeps until something is owed."""
        while True:
            await self._owing.wait()
            await asyncio.sleep(self.commit_interval)
            self._owing.clear()
            await self._commit_owed(consumer)

    async def _from_beginning(self, consumer: AIOKafkaConsumer) -> None:
        """The broker restarted empty: read every assigned partition from its start again."""
        assigned = consumer.assignment()
        log.warning("consumer.from_beginning", consumer=self.name, partitions=len(assigned))
        if not assigned:
            return  # partitions assigned later start from the earliest record anyway
        try:
            await asyncio.wait_for(consumer.seek_to_beginning(*assigned), 10.0)
        except (
            KafkaError,
            TimeoutError,
            *NOT_ASSIGNED,
        ) as exc:  # rejoining after the restart resets them too
            log.warning("consumer.seek_failed", consumer=self.name, error=str(exc))

    async def _reset_beyond_end(self, consumer: AIOKafkaConsumer) -> None:
        """A position past a partition's end is an offset committed to an earlier broker
        (e.g. by work that finished across the restart): fetching from there would skip what
        the new broker holds below it. Such partitions are read from their beginning again."""
        found = await _positions(consumer)  # one still being reset skips this round
        beyond = [tp for tp, position, high in found or () if position > high]
        if beyond:
            log.warning("consumer.position_beyond_end", consumer=self.name, partitions=len(beyond))
            try:
                await asyncio.wait_for(consumer.seek_to_beginning(*beyond), 10.0)
            except (KafkaError, TimeoutError, *NOT_ASSIGNED) as exc:
                log.warning("consumer.seek_failed", consumer=self.name, error=str(exc))

    async def _record_lag(self, consumer: AIOKafkaConsumer, tps: Any) -> None:
        for tp in tps:
            high = _highwater(consumer, tp)
            if high is None:
                continue
            try:
                position = await consumer.position(tp)
            except (KafkaError, *NOT_ASSIGNED):
                continue
            self.metrics.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(
                max(high - position, 0)
            )

    async def _run_partition(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
        after: asyncio.Task[tuple[TopicPartition, int | None]] | None = None,
    ) -> tuple[TopicPartition, int | None]:
        self._in_hand += len(records)
        try:
            if after is not None:  # the partition came back after a rebalance: keep its order
                await asyncio.wait([after])
            if len(records) > 1 and await self._process_batch(records):
                return tp, records[-1].offset
            last: int | None = None
            for record in records:
                await self._process(record)
                last = record.offset
            return tp, last
        finally:
            self._in_hand -= len(records)

    async def _process_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> bool:
        """Handle a partition's records in order in ONE transaction (one commit for all).

        False, with nothing written, when any record cannot be decoded or its handler
        fails: the caller then handles the records one per transaction, where a bad one
        gets its retries and dead letter and the others commit once.
        """
        opened: list[tuple[ConsumerRecord[bytes, bytes], Envelope, Message, Handler[Any]]] = []
        ignored: list[tuple[str, str]] = []
        for record in records:
            passed = self._passed_over(record)
            if passed is not None:
                ignored.append((record.topic, passed))
                continue
            try:
                envelope = Envelope.from_bytes(record.value)
                handler = self._by_type.get(envelope.type)
                if handler is None or self._not_ours(record):
                    if handler is None and not self._belongs(record.topic, envelope.type):
                        return False  # an unknown type: dead-lettered one by one
                    ignored.append((record.topic, envelope.type))
                    continue
                message = envelope.open()
                if not handler.wants(message):
                    ignored.append((record.topic, envelope.type))
                    continue
                opened.append((record, envelope, message, handler))
            except MessageError:
                return False
        if not opened:  # nothing here for this service: no transaction at all
            self._count_ignored(ignored)
            return True
        try:  # calls to other services first: none is made while the batch's transaction is open
            prepared = await self._prepare_all([(m, h) for _, _, m, h in opened])
        except Exception as exc:
            log.info("consumer.prepare_failed", consumer=self.name, error=str(exc))
            return False
        outcomes: list[tuple[ConsumerRecord[bytes, bytes], str, str, float]] = []
        later: list[Callable[[], Awaitable[None]]] = []
        try:
            async with self.db.transaction() as session:
                # Rows locked for one record stay locked until the batch commits; a lock
                # another batch holds (possibly waiting for ours) ends this try quickly.
                # The same statement claims every record of the batch in the inbox.
                claimed = await self._claim_all(session, [(r, e) for r, e, _, _ in opened])
                for (record, envelope, message, handler), ready in zip(
                    opened, prepared, strict=True
                ):
                    started = time.perf_counter()
                    with (
                        bound(correlation_id=envelope.correlation_id, message_type=envelope.type),
                        self._span(record, envelope),
                    ):
                        # a repeat within the batch finds its id already taken
                        new = envelope.message_id in claimed
                        claimed.discard(envelope.message_id)
                        outcome = await self._claim_and_handle(
                            session, record, envelope, message, handler, ready, later, claimed=new
                        )
                    outcomes.append((record, envelope.type, outcome, time.perf_counter() - started))
        except Exception as exc:
            log.info(
                "consumer.batch_fell_back", consumer=self.name, records=len(records), error=str(exc)
            )
            self.metrics.batches.labels(outcome="fell_back").inc()
            return False
        self.metrics.batches.labels(outcome="committed").inc()
        await self._after_commit(later)
        self._count_ignored(ignored)
        for record, type_name, outcome, seconds in outcomes:
            self.metrics.handler_seconds.labels(type=type_name).observe(seconds)
            self.metrics.consumed(topic=record.topic, type=type_name, outcome=outcome).inc()
        return True

    def _count_ignored(self, ignored: list[tuple[str, str]]) -> None:
        for topic, type_name in ignored:
            self.metrics.consumed(topic=topic, type=type_name, outcome="ignored").inc()

    async def _claim_all(
        self, session: AsyncSession, items: list[tuple[ConsumerRecord[bytes, bytes], Envelope]]
    ) -> set[uuid.UUID]:
        """Claim the records' messages in the inbox in one statement; the ids new here."""
        rows = await fetch(
            session,
            self._claim_batch_sql,
            self.name,
            [e.message_id for _, e in items],
            [e.type for _, e in items],
            [r.topic for r, _ in items],
            [r.partition for r, _ in items],
            [r.offset for r, _ in items],
            _BATCH_LOCK_TIMEOUT,
        )
        return {row[0] for row in rows}

    def _runtime(self) -> Runtime:
        if self.services is None:
            raise RuntimeError("a handler with `prepare` needs the service runtime")
        return self.services

    async def _prepare_all(self, items: list[tuple[Message, Handler[Any]]]) -> list[Any]:
        """Each handler's `prepare` answer (None where it has none), a few at a time."""
        if not any(h.prepare is not None for _, h in items):
            return [None] * len(items)
        gate = asyncio.Semaphore(_PREPARE_CONCURRENCY)

        async def one(message: Message, handler: Handler[Any]) -> Any:
            if handler.prepare is None:
                return None
            async with gate:
                return await handler.prepare(message, self._runtime())

        return list(await asyncio.gather(*(one(m, h) for m, h in items)))

    def _span(self, record: ConsumerRecord[bytes, bytes], envelope: Envelope) -> Any:
        return consumer_span(
            f"{envelope.type} process",
            record.headers,
            lambda: {  # built only when the span records (an exporter is configured)
                "messaging.system": "kafka",
                "messaging.destination.name": record.topic,
                "messaging.kafka.destination.partition": record.partition,
                "messaging.kafka.message.offset": record.offset,
                "messaging.message.id": str(envelope.message_id),
                "messaging.consumer.group.name": self.group_id,
                "agentshop.correlation_id": envelope.correlation_id or "",
            },
        )

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        passed = self._passed_over(record)
        if passed is not None:
            self._count_ignored([(record.topic, passed)])
            return
        try:
            envelope = Envelope.from_bytes(record.value)
        except MessageError as exc:
            await self._dead_letter(record, None, str(exc), attempts=1)
            return
        handler = self._by_type.get(envelope.type)
        if handler is None and not self._belongs(record.topic, envelope.type):
            await self._dead_letter(
                record, envelope, f"unknown message type {envelope.type!r} on {record.topic}", 1
            )
            return
        if handler is None or self._not_ours(record):
            # a type on a shared topic that another service handles, or a replay for another
            self.metrics.consumed(topic=record.topic, type=envelope.type, outcome="ignored").inc()
            return
        with (
            bound(correlation_id=envelope.correlation_id, message_type=envelope.type),
            self._span(record, envelope),
        ):
            try:
                message = envelope.open()
            except MessageError as exc:
                await self._dead_letter(record, envelope, str(exc), attempts=1)
                return
            if not handler.wants(message):
                self._count_ignored([(record.topic, envelope.type)])
                return
            error = ""
            attempt = 0
            while attempt < self.max_attempts:
                attempt += 1
                started = time.perf_counter()
                try:
                    prepared = (
                        await handler.prepare(message, self._runtime())
                        if handler.prepare is not None
                        else None
                    )
                    outcome = await self._handle_once(record, envelope, message, handler, prepared)
                except Exception as exc:
                    raise_if_cancelled(exc)  # not the message's failure: it is handled again
                    if is_unavailable(exc) and not self._stopping.is_set():
                        # The database is away, not the message at fault: wait, do not count it.
                        log.warning("consumer.database_unavailable", error=str(exc))
                        attempt -= 1
                        await asyncio.sleep(1.0)
                        continue
                    error = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "consumer.handler_failed",
                        consumer=self.name,
                        attempt=attempt,
                        error=error,
                        exc_info=attempt == self.max_attempts,
                    )
                    if attempt < self.max_attempts:
                        self.metrics.handler_retries.labels(type=envelope.type).inc()
                        await asyncio.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                    continue
                self.metrics.handler_seconds.labels(type=envelope.type).observe(
                    time.perf_counter() - started
                )
                self.metrics.consumed(topic=record.topic, type=envelope.type, outcome=outcome).inc()
                return
            await self._dead_letter(record, envelope, error, attempts=self.max_attempts)

    async def _handle_once(
        self,
        record: ConsumerRecord[bytes, bytes],
        envelope: Envelope,
        message: Message,
        handler: Handler[Any],
        prepared: Any = None,
    ) -> str:
        later: list[Callable[[], Awaitable[None]]] = []
        async with self.db.transaction() as session:
            outcome = await self._claim_and_handle(
                session, record, envelope, message, handler, prepared, later
            )
        await self._after_commit(later)
        return outcome

    async def _after_commit(self, later: list[Callable[[], Awaitable[None]]]) -> None:
        """Run what handlers asked for after their transaction committed; a failure is
        logged (the service's own sweep finishes that work), never a reason to redeliver."""
        for work in later:
            try:
                await work()
            except Exception as exc:
                log.warning("consumer.after_commit_failed", consumer=self.name, error=str(exc))

    async def _claim_and_handle(
        self,
        session: AsyncSession,
        record: ConsumerRecord[bytes, bytes],
        envelope: Envelope,
        message: Message,
        handler: Handler[Any],
        prepared: Any = None,
        later: list[Callable[[], Awaitable[None]]] | None = None,
        *,
        claimed: bool | None = None,
    ) -> str:
        """Claim the message in the inbox (unless `claimed` says how that went) and run its
        handler, in `session`'s transaction; what the handler asks to run after commit is
        added to `later`."""
        if claimed is None:
            claimed = bool(
                await fetch(
                    session,
                    self._claim_sql,
                    self.name,
                    envelope.message_id,
                    envelope.type,
                    record.topic,
                    record.partition,
                    record.offset,
                )
            )
        if not claimed:
            return "duplicate"
        ctx = MessageContext(session, envelope, self.outbox, self.services, prepared)
        await handler.fn(message, ctx)
        if later is not None:
            later.extend(ctx.later)
        return "ok"

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        envelope: Envelope | None,
        error: str,
        attempts: int,
    ) -> None:
        """Keep the record and publish it to `<topic>.dlq`, then let the partition move on."""
        key = record.key.decode(errors="replace") if record.key else None
        type_name = envelope.type if envelope else "undecodable"
        log.error(
            "consumer.dead_lettered",
            consumer=self.name,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            error=error,
            attempts=attempts,
        )
        while True:
            try:
                async with self.db.transaction() as session:
                    await session.execute(
                        self.tables.dead_letter.insert().values(
                            consumer=self.name,
                            message_id=envelope.message_id if envelope else None,
                            type=type_name,
                            topic=record.topic,
                            partition=record.partition,
                            offset=record.offset,
                            key=key,
                            value=record.value,
                            error=error[:4000],
                            attempts=attempts,
                        )
                    )
                    await self.outbox.add_raw(
                        session,
                        topic=dlq_topic(record.topic),
                        key=key,
                        type_name=type_name,
                        value=record.value or b"",
                        message_id=uuid.uuid4(),
                        headers={
                            "dlq.error": error[:1000],
                            "dlq.consumer": self.name,
                            "dlq.attempts": str(attempts),
                            "dlq.original_topic": record.topic,
                            "dlq.original_partition": str(record.partition),
                            "dlq.original_offset": str(record.offset),
                        },
                    )
                break
            except Exception as exc:  # database away: the record must not be skipped
                raise_if_cancelled(exc)
                log.warning("consumer.dead_letter_failed", consumer=self.name, error=str(exc))
                if self._stopping.is_set():
                    raise
                await asyncio.sleep(1.0)
        self.metrics.dead_lettered.labels(topic=record.topic).inc()
        self.metrics.consumed(topic=record.topic, type=type_name, outcome="dead_lettered").inc()

    async def wait_started(self) -> None:
        await self._started.wait()

    async def stop(self) -> None:
        """Finish the batch in flight, commit it, leave the group."""
        self._stopping.set()
