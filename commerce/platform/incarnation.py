"""Which incarnation of the broker we talk to, so a broker that lost its data is noticed.

The embedded broker keeps its log in memory: after a restart its topics, records and
consumer-group offsets are gone. The outboxes keep what they sent for a retention
window (PostgreSQL is the log of record, docs/adr/0020), so what the broker lost can be
sent again, and the consumers' inboxes make the repeats no-ops. For that a relay must
know that the broker it publishes to is not the one it published to before.

The signal is a marker topic, `agentshop.broker-incarnation.<born>`, where `<born>` is the
moment (Unix milliseconds) the first client saw this broker without a marker. A broker
that keeps its data keeps its marker, so nothing is ever replayed against Apache Kafka or
Redpanda; a broker that lost its data has lost the marker too, and the first client that
sees that creates the topics and a new marker. Everything a relay marked sent before
`<born>` may have gone to an earlier incarnation, so it is sent again; everything sent
after it went to this one. Two clients that create a marker at once leave two: the
earliest counts (a later one would only cause more repeats, never fewer).

One watcher runs per process (it shares the process's producer connection and asks for
the topic list once per `AGENTSHOP_BROKER_WATCH_SECONDS`); relays and consumers read
`current` and are woken when it changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from commerce.platform import wakeups
from commerce.platform.kafka import client_options, ensure_topics
from commerce.platform.settings import Settings
from commerce.platform.tasks import raise_if_cancelled

log = structlog.get_logger(__name__)

MARKER_PREFIX = "agentshop.broker-incarnation."


@dataclass(frozen=True)
class Incarnation:
    """One life of the broker: its marker topic and when it was first seen."""

    marker: str
    born: datetime

    @classmethod
    def from_marker(cls, name: str) -> Incarnation | None:
        stamp = name.removeprefix(MARKER_PREFIX)
        if stamp == name or not stamp.isdigit():
            return None
        return cls(name, datetime.fromtimestamp(int(stamp) / 1000, UTC))


def current_incarnation(topics: set[str]) -> Incarnation | None:
    """The incarnation named by the earliest marker among `topics`, if any."""
    found = [i for name in topics if (i := Incarnation.from_marker(name)) is not None]
    return min(found, key=lambda i: i.born) if found else None


class BrokerWatch:
    """Follows the broker's incarnation; wakes subscribers when it changes."""

    def __init__(
        self, settings: Settings, producer: AIOKafkaProducer, *, every: float | None = None
    ) -> None:
        self.settings = settings
        self.producer = producer
        self.every = settings.broker_watch_seconds if every is None else every
        self.current: Incarnation | None = None
        self.generation = 0  # +1 whenever `current` changes
        self._subscribers: set[asyncio.Event] = set()
        self._known = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, event: asyncio.Event) -> None:
        self._subscribers.add(event)

    def unsubscribe(self, event: asyncio.Event) -> None:
        self._subscribers.discard(event)

    async def wait_known(self, within: float) -> Incarnation | None:
        """The incarnation once known (None if not within `within` seconds)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._known.wait(), within)
        return self.current

    async def check(self) -> Incarnation:
        """Look at the broker's topics once; create the topics and a marker when it has none."""
        metadata = await self.producer.client.fetch_all_metadata()
        found = current_incarnation(metadata.topics(exclude_internal_topics=False))
        if found is None:
            found = await self._mark()
        if found != self.current:
            previous, self.current = self.current, found
            self.generation += 1
            if previous is not None:
                wakeups.forget_ends()
            # the first one seen is this process starting; a change is a broker restart
            (log.warning if previous else log.info)(
                "broker.incarnation",
                marker=found.marker,
                born=found.born.isoformat(),
                previous=previous.marker if previous else None,
            )
            for event in self._subscribers:
                event.set()
        self._known.set()
        return found

    async def _mark(self) -> Incarnation:
        """A broker without a marker (new, or restarted empty): topics first, then the marker."""
        from commerce.contracts import all_topic_names

        await ensure_topics(self.settings, all_topic_names())
        name = f"{MARKER_PREFIX}{int(time.time() * 1000)}"
        admin = AIOKafkaAdminClient(
            **client_options(self.settings), client_id="agentshop-incarnation"
        )
        await admin.start()
        try:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(name, 1, self.settings.kafka_replication_factor)]
                )
            topics = set(await admin.list_topics())
        finally:
            await admin.close()
        found = current_incarnation(topics)
        marked = found or Incarnation.from_marker(name)
        assert marked is not None
        return marked

    async def run(self) -> None:
        """Check every `every` seconds until cancelled; a broker that is away is skipped."""
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:
                log.info("broker.watch_failed", error=str(exc))
            except Exception as exc:  # keep watching whatever the broker answered
                raise_if_cancelled(exc)
                log.warning("broker.watch_failed", error=repr(exc))
            await asyncio.sleep(self.every)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="broker-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
