"""Prometheus metrics, one registry per service so each /metrics shows its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    def __init__(self, service: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = {"service": service}
        self.consumed = Counter(
            "agentshop_messages_consumed",
            "Messages taken from Kafka, by outcome (ok, duplicate, ignored, dead_lettered)",
            ["topic", "type", "outcome"],
            registry=self.registry,
        ).labels
        self.handler_retries = Counter(
            "agentshop_handler_retries",
            "Handler attempts that failed and were retried",
            ["type"],
            registry=self.registry,
        )
        self.batches = Counter(
            "agentshop_consumer_batches",
            "Partition batches handled in one transaction, by outcome (committed, fell_back)",
            ["outcome"],
            registry=self.registry,
        )
        self.produced = Counter(
            "agentshop_messages_produced",
            "Messages published to Kafka by the outbox relay",
            ["topic"],
            registry=self.registry,
        )
        self.handler_seconds = Histogram(
            "agentshop_handler_seconds",
            "Time to handle one message, transaction included",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "agentshop_dlq_messages",
            "Messages sent to a dead-letter topic",
            ["topic"],
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "agentshop_outbox_backlog",
            "Outbox rows not yet published",
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "agentshop_consumer_lag",
            "Records between the consumer's position and the partition's end",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "agentshop_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_seconds = Histogram(
            "agentshop_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.info = Gauge(
            "agentshop_service_info", "Service identity", ["service"], registry=self.registry
        )
        self.info.labels(**labels).set(1)
