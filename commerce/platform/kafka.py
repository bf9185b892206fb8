"""aiokafka clients configured from settings, and topic administration."""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import client as aiokafka_client
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_fixed

from commerce.platform.settings import Settings

log = structlog.get_logger(__name__)


class _MetadataRequestWithoutCreation(MetadataRequest):  # type: ignore[misc]
    """A metadata request that never creates the topics it asks about: Kafka's
    `allow.auto.create.topics=false` (KIP-361), for which aiokafka has no option.

    A broker that creates a topic when asked about it (Tansu always; Apache Kafka unless
    `auto.create.topics.enable` is off) gives it its own default partition count. After a
    broker restart the clients ask about their topics before `create_topics` runs; a topic
    created then kept 4 partitions instead of 6, and a consumer assigned 4 of them never
    read what producers still sent to the other two (docs/adr/0044). Topics are made only
    by `ensure_topics`, with the configured count."""

    def __init__(
        self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = False
    ) -> None:
        super().__init__(topics, allow_auto_topic_creation)


# every aiokafka client (producers, consumers; not the admin client's own requests) builds
# its metadata requests from this name; aiokafka is pinned, and a test on the real broker
# checks that asking about a missing topic does not create it
aiokafka_client.MetadataRequest = _MetadataRequestWithoutCreation


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and the admin client."""
    if not settings.kafka_bootstrap_servers:
        raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set and no embedded broker runs")
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def make_producer(settings: Settings, client_id: str = "agentshop") -> AIOKafkaProducer:
    # No idempotent/transactional producer: not every Kafka-protocol broker supports
    # InitProducerId (Tansu does not). Duplicates are absorbed by the consumers' inbox.
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=client_id,
        acks="all",
        linger_ms=0,
        request_timeout_ms=10_000,
    )


def make_consumer(
    settings: Settings, *topics: str, group_id: str, **extra: Any
) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        **client_options(settings),
        group_id=group_id,
        client_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=max(settings.kafka_session_timeout_ms // 4, 100),
        consumer_timeout_ms=settings.kafka_consumer_timeout_ms,
        **extra,
    )


class _NodesInFlight(set[Any]):
    """aiokafka's fetcher keeps the brokers it has a request running to in a set; a node
    in it gets no new fetch. The mark is cleared by the request task's done-callback. When
    the fetch routine is woken by something else in the loop turn in which that task
    finished (a consumed partition, a resumed one), `asyncio.wait` reports the task done
    before its callback has run: the routine drops the task, still sees the node marked,
    skips every partition on it and sleeps for `consumer_timeout_ms` with nothing that
    wakes it (docs/adr/0047). This set wakes the routine when a mark is cleared."""

    def __init__(self, fetcher: Any, nodes: set[Any]) -> None:
        super().__init__(nodes)
        self._fetcher = fetcher

    def discard(self, node: Any) -> None:
        super().discard(node)
        waiting = getattr(self._fetcher, "_wait_consume_future", None)
        if waiting is not None and not waiting.done():
            waiting.set_result(None)


async def start_consumer(consumer: AIOKafkaConsumer) -> None:
    """`consumer.start()`, then a cleared in-flight mark wakes its fetch routine: how every
    consumer of the project starts."""
    await consumer.start()
    wake_fetcher_when_nodes_free(consumer)


def wake_fetcher_when_nodes_free(consumer: AIOKafkaConsumer) -> None:
    """After `consumer.start()`: a cleared in-flight mark wakes its fetch routine (see
    `_NodesInFlight`). Without the fetcher aiokafka 0.14 has, nothing is changed."""
    fetcher = getattr(consumer, "_fetcher", None)
    nodes = getattr(fetcher, "_in_flight", None)
    if type(nodes) is set:
        fetcher._in_flight = _NodesInFlight(fetcher, nodes)  # type: ignore[union-attr]
    elif not isinstance(nodes, _NodesInFlight):
        log.warning("kafka.fetcher_not_patched", reason="aiokafka's fetcher changed")


async def ensure_topics(
    settings: Settings, names: list[str], partitions: int | None = None
) -> list[str]:
    """Create the topics that do not exist yet. Returns the names created."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="agentshop-admin")
    # the broker may still be starting: 20 tries, 0.5 s apart, then the last error
    async for attempt in AsyncRetrying(
        retry=retry_if_exception_type(KafkaConnectionError),
        stop=stop_after_attempt(20),
        wait=wait_fixed(0.5),
        reraise=True,
    ):
        with attempt:
            await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if not missing:
            return []
        count = partitions or settings.kafka_topic_partitions
        with contextlib.suppress(TopicAlreadyExistsError):  # created concurrently elsewhere
            await admin.create_topics(
                [NewTopic(n, count, settings.kafka_replication_factor) for n in missing]
            )
        log.debug("kafka.topics_created", topics=missing, partitions=count)
        return missing
    finally:
        await admin.close()
