"""OpenTelemetry tracing: W3C trace context across HTTP calls and Kafka records.

A trace started by an HTTP request continues through the outbox (the context is
stored with the row and sent as the record's `traceparent` header), into the
consumer that handles it, and into any HTTP call that handler makes. Spans are
exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; otherwise they
are still created (so ids propagate and appear in logs) but not exported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind

_configured = False
tracer = trace.get_tracer("agentshop")


def configure_tracing(service_name: str) -> None:
    """Install the SDK tracer provider once per process (exporting only when configured)."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write the current trace context (`traceparent`, `tracestate`) into `carrier`."""
    propagate.inject(carrier)


@contextmanager
def consumer_span(
    name: str, headers: list[tuple[str, bytes]] | None, attributes: Mapping[str, Any]
) -> Iterator[Span]:
    """A CONSUMER span whose parent is the trace context carried by a Kafka record."""
    carrier = {k: v.decode(errors="replace") for k, v in headers or [] if v is not None}
    parent = propagate.extract(carrier)
    with tracer.start_as_current_span(
        name, context=parent, kind=SpanKind.CONSUMER, attributes=dict(attributes)
    ) as span:
        yield span


@contextmanager
def server_span(name: str, headers: Mapping[str, str]) -> Iterator[Span]:
    parent = propagate.extract(dict(headers))
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
        yield span


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def add_trace_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the trace id of the current span, when there is one."""
    trace_id = current_trace_id()
    if trace_id:
        event.setdefault("trace_id", trace_id)
    return event
