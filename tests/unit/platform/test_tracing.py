"""Spans: recorded and exported with an exporter; without one, ids that still propagate."""

from __future__ import annotations

import json
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.datastructures import Headers

from commerce.platform import telemetry
from commerce.platform.logging import configure_logging

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
KAFKA_HEADERS = [("traceparent", PARENT.encode())]


def use(provider: TracerProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The platform's spans come from `provider` (the process-wide one is set only once)."""
    monkeypatch.setattr(telemetry, "tracer", provider.get_tracer("agentshop"))


def test_without_an_exporter_spans_record_nothing_but_carry_the_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use(telemetry.tracer_provider("test", None), monkeypatch)
    built: list[str] = []

    def attributes() -> dict[str, Any]:
        built.append("built")
        return {"messaging.system": "kafka"}

    with telemetry.consumer_span("Credit process", KAFKA_HEADERS, attributes) as span:
        assert not span.is_recording()
        assert telemetry.current_trace_id() == TRACE_ID
        carrier: dict[str, str] = {}
        telemetry.inject(carrier)  # what an HTTP call or an outbox row gets
    assert built == []
    assert carrier["traceparent"].split("-")[1] == TRACE_ID

    with telemetry.server_span("GET /x", Headers(carrier)) as server:  # the next hop
        assert not server.is_recording()
        assert telemetry.current_trace_id() == TRACE_ID

    with telemetry.server_span("GET /x", Headers({})) as root:  # a new trace starts
        assert root.get_span_context().is_valid
        assert telemetry.current_trace_id() not in (None, TRACE_ID)


def test_the_trace_id_of_an_unrecorded_span_is_in_the_logs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use(telemetry.tracer_provider("test", None), monkeypatch)
    configure_logging("INFO", "json")
    try:
        with telemetry.consumer_span("Credit process", KAFKA_HEADERS, {}):
            structlog.get_logger("agentshop.test").info("credited")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    finally:
        configure_logging("WARNING", "console")
    assert lines[-1]["event"] == "credited"
    assert lines[-1]["trace_id"] == TRACE_ID


def test_with_an_exporter_spans_are_recorded_with_their_attributes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    exported = InMemorySpanExporter()
    provider = telemetry.tracer_provider("test", exported)
    use(provider, monkeypatch)
    with telemetry.consumer_span(
        "Credit process", KAFKA_HEADERS, lambda: {"messaging.system": "kafka"}
    ) as span:
        assert span.is_recording()
    with telemetry.server_span("GET /x", Headers({})) as root:  # no parent: sampled
        assert root.is_recording()
    provider.force_flush()
    consumer, server = exported.get_finished_spans()
    assert consumer.name == "Credit process"
    assert consumer.attributes == {"messaging.system": "kafka"}
    assert (
        consumer.parent is not None
        and format(consumer.parent.span_id, "016x") == (PARENT.split("-")[2])
    )
    assert format(consumer.context.trace_id, "032x") == TRACE_ID
    assert server.parent is None


def test_with_an_exporter_the_configured_sampler_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    exported = InMemorySpanExporter()
    provider = telemetry.tracer_provider("test", exported)
    use(provider, monkeypatch)
    with telemetry.consumer_span("Credit process", KAFKA_HEADERS, {}) as span:
        assert not span.is_recording()
        assert telemetry.current_trace_id() == TRACE_ID
    provider.force_flush()
    assert exported.get_finished_spans() == ()


def test_exporting_follows_the_otlp_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not telemetry.tracing_exported()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert telemetry.tracing_exported()
