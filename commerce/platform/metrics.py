"""Prometheus metrics, one registry per service so each /metrics shows its own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric

M = TypeVar("M", bound=MetricWrapperBase)

# Label sets a metric keeps children for; past it (a flood of odd label values) `labels`
# is asked each time, as without the cache.
KEPT_CHILDREN = 2000


class Labelled(Generic[M]):
    """A labelled metric whose children are kept by label values.

    `Metric.labels()` checks the names, turns every value into a string and takes a lock
    on each call; on the request and message paths the same few label sets come back
    every time, so a dict lookup does instead.
    """

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self._children: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], M] = {}

    def labels(self, *values: str, **named: str) -> M:
        key = (values, tuple(named.items()))
        child = self._children.get(key)
        if child is None:
            child = self.metric.labels(*values, **named)
            if len(self._children) < KEPT_CHILDREN:
                self._children[key] = child
        return child

    def remove(self, *values: str) -> None:
        self._children.clear()
        self.metric.remove(*values)

    def clear(self) -> None:
        self._children.clear()
        self.metric.clear()

    def collect(self) -> Iterable[Metric]:
        return self.metric.collect()


LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service}
        self.consumed = Labelled(
            Counter(
                "agentshop_messages_consumed",
                "Messages taken from Kafka, by outcome (ok, duplicate, ignored, dead_lettered)",
                ["topic", "type", "outcome"],
                registry=self.registry,
            )
        ).labels
        self.handler_retries = Labelled(
            Counter(
                "agentshop_handler_retries",
                "Handler attempts that failed and were retried",
                ["type"],
                registry=self.registry,
            )
        )
        self.batches = Labelled(
            Counter(
                "agentshop_consumer_batches",
                "Partition batches handled in one transaction, by outcome (committed, fell_back)",
                ["outcome"],
                registry=self.registry,
            )
        )
        self.produced = Labelled(
            Counter(
                "agentshop_messages_produced",
                "Messages published to Kafka by the outbox relay",
                ["topic"],
                registry=self.registry,
            )
        )
        self.handler_seconds = Labelled(
            Histogram(
                "agentshop_handler_seconds",
                "Time to handle one message, transaction included",
                ["type"],
                buckets=LATENCY_BUCKETS,
                registry=self.registry,
            )
        )
        self.dead_lettered = Labelled(
            Counter(
                "agentshop_dlq_messages",
                "Messages sent to a dead-letter topic",
                ["topic"],
                registry=self.registry,
            )
        )
        self.purged = Labelled(
            Counter(
                "agentshop_retention_purged_rows",
                "Rows deleted for being older than their table's retention",
                ["table"],
                registry=self.registry,
            )
        )
        self.consumer_restarts = Counter(
            "agentshop_consumer_restarts",
            "Times the consumer started again as a new member: it failed unexpectedly,"
            " or its topics changed",
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "agentshop_outbox_backlog",
            "Outbox rows not yet published",
            registry=self.registry,
        )
        self.outbox_reads = Counter(
            "agentshop_outbox_reads",
            "Reads of the outbox by its relay (its lease taken, a NOTIFY, the poll, a failure);"
            " rows handed to the relay at commit are published without one (docs/adr/0039)",
            registry=self.registry,
        )
        self.outbox_failures = Counter(
            "agentshop_outbox_publish_failures",
            "Relay passes that failed (broker or database away); the rows stay and are read again",
            registry=self.registry,
        )
        self.replayed = Counter(
            "agentshop_outbox_replayed",
            "Sent outbox rows queued again because the broker lost its data (docs/adr/0020)",
            registry=self.registry,
        )
        self.resent = Labelled(
            Counter(
                "agentshop_resent",
                "Messages sent again because their effect was not seen in time",
                ["type"],
                registry=self.registry,
            )
        )
        self.consumer_lag = Labelled(
            Gauge(
                "agentshop_consumer_lag",
                "Records between the consumer's position and the partition's end",
                ["topic", "partition"],
                registry=self.registry,
            )
        )
        self.http_requests = Labelled(
            Counter(
                "agentshop_http_requests",
                "HTTP requests served",
                ["method", "route", "status"],
                registry=self.registry,
            )
        )
        self.http_seconds = Labelled(
            Histogram(
                "agentshop_http_request_seconds",
                "HTTP request latency",
                ["method", "route"],
                buckets=LATENCY_BUCKETS,
                registry=self.registry,
            )
        )
        self.info = Gauge(
            "agentshop_service_info", "Service identity", ["service"], registry=self.registry
        )
        self.info.labels(**labels).set(1)
