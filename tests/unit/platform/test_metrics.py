"""Metric children are kept per label set and still count in the service's registry."""

from __future__ import annotations

from commerce.platform.metrics import ServiceMetrics


def test_kept_children_count_in_the_registry() -> None:
    metrics = ServiceMetrics("svc")
    first = metrics.http_requests.labels("GET", "/items", "200")
    assert metrics.http_requests.labels("GET", "/items", "200") is first
    first.inc()
    metrics.http_requests.labels("GET", "/items", "200").inc()
    metrics.consumed(topic="t", type="Credit", outcome="ok").inc()
    sample = metrics.registry.get_sample_value
    labels = {"method": "GET", "route": "/items", "status": "200"}
    assert sample("agentshop_http_requests_total", labels) == 2
    assert (
        sample(
            "agentshop_messages_consumed_total", {"topic": "t", "type": "Credit", "outcome": "ok"}
        )
        == 1
    )


def test_a_removed_label_set_starts_again_from_zero() -> None:
    metrics = ServiceMetrics("svc")
    metrics.produced.labels(topic="a").inc(3)
    metrics.produced.remove("a")
    assert (
        metrics.registry.get_sample_value("agentshop_messages_produced_total", {"topic": "a"})
        is None
    )
    metrics.produced.labels(topic="a").inc()
    assert (
        metrics.registry.get_sample_value("agentshop_messages_produced_total", {"topic": "a"}) == 1
    )
