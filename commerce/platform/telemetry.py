"""OpenTelemetry tracing: W3C trace context across HTTP calls and Kafka records.

A trace started by an HTTP request continues through the outbox (the context is
stored with the row and sent as the record's `traceparent` header), into the
consumer that handles it, and into any HTTP call that handler makes. Spans are
exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (sampled as
`OTEL_TRACES_SAMPLER` says, by default every trace a sampled parent or none started).
Otherwise every span is sampled out: it still has a valid context, so trace ids
propagate and appear in logs, but it records nothing, which costs a fraction of a
recorded span that would be thrown away (docs/adr/0015).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, SpanKind

_configured = False
tracer = trace.get_tracer("agentshop")


def tracing_exported() -> bool:
    """Whether spans leave this process (an OTLP endpoint is configured)."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracer_provider(service_name: str, exporter: SpanExporter | None) -> TracerProvider:
    """The SDK provider: recording and exporting through `exporter`, or, without one,
    creating valid but non-recording spans (trace ids still propagate and reach logs)."""
    resource = Resource.create({"service.name": service_name})
    if exporter is None:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    provider = TracerProvider(resource=resource)  # sampler: OTEL_TRACES_SAMPLER, else parent-based
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def configure_tracing(service_name: str) -> None:
    """Install the SDK tracer provider once per process (exporting only when configured)."""
    global _configured
    if _configured:
        return
    exporter: SpanExporter | None = None
    if tracing_exported():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    trace.set_tracer_provider(tracer_provider(service_name, exporter))
    _configured = True


def inject(carrier: MutableMapping[str, str]) -> None:
    """Write the current trace context (`traceparent`, `tracestate`) into `carrier`."""
    propagate.inject(carrier)


@contextmanager
def consumer_span(
    name: str,
    headers: list[tuple[str, bytes]] | None,
    attributes: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
) -> Iterator[Span]:
    """A CONSUMER span whose parent is the trace context carried by a Kafka record.

    `attributes` are set only on a recording span; pass a function to build them only then.
    """
    carrier = {k: v.decode(errors="replace") for k, v in headers or [] if v is not None}
    parent = propagate.extract(carrier)
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER) as span:
        if span.is_recording():
            span.set_attributes(attributes() if callable(attributes) else attributes)
        yield span


@contextmanager
def server_span(name: str, headers: Mapping[str, str]) -> Iterator[Span]:
    """A SERVER span whose parent is the trace context of the request's headers (any
    mapping with case-insensitive `get`, e.g. Starlette's `Headers`)."""
    parent = propagate.extract(headers)
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
