"""One way to declare a service, and the runtime that runs it.

A service is data: its name (from `commerce.services.SERVICES`), its database
metadata and migrations, its HTTP routes, the messages it handles, background
tasks and demo data. `ServiceRuntime` wires the real adapters (database,
outbox relay, consumer, HTTP app) for it; `agentshop up` runs many runtimes in
one process, `agentshop serve NAME` runs one.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar

import httpx
import structlog
from aiokafka import AIOKafkaProducer
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import MetaData, select
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from commerce.platform import apidocs
from commerce.platform.consumer import ConsumerRunner, Handler
from commerce.platform.db import Database, PlatformTables
from commerce.platform.edges import (
    SERVICE_TOKEN_HEADER,
    Edge,
    ErrorResponse,
    default_error_response,
    install_unavailable_handlers,
)
from commerce.platform.incarnation import BrokerWatch
from commerce.platform.inprocess import InProcessTransport, LocalApps
from commerce.platform.kafka import make_consumer
from commerce.platform.logging import bound
from commerce.platform.metrics import ServiceMetrics
from commerce.platform.outbox import Outbox, OutboxRelay
from commerce.platform.retention import Retention, retention_loop
from commerce.platform.settings import Settings
from commerce.platform.tasks import raise_if_cancelled
from commerce.platform.telemetry import inject, server_span, tracing_exported
from commerce.services import SERVICES, ServiceSpec

log = structlog.get_logger(__name__)

BackgroundTask = Callable[["ServiceRuntime"], Awaitable[None]]
SeedFn = Callable[[Database], Awaitable[None]]
T = TypeVar("T")


class Slot(Generic[T]):
    """A service's own long-lived object on its runtime (a cache, a client of another
    service), made from the runtime on first use. The slot is the key: typed, and named
    by the variable that holds it rather than by a string."""

    def __init__(self, make: Callable[[ServiceRuntime], T]) -> None:
        self._make = make

    def of(self, runtime: ServiceRuntime) -> T:
        if self not in runtime.slots:
            runtime.slots[self] = self._make(runtime)
        value: T = runtime.slots[self]
        return value


@dataclass
class Service:
    """The declaration of a service. `name` must be a key of `commerce.services.SERVICES`."""

    name: str
    metadata: MetaData
    migrations: Path
    router: APIRouter | None = None
    handlers: Sequence[Handler[Any]] = ()
    background: Sequence[BackgroundTask] = ()
    seed: SeedFn | None = None
    title: str | None = None
    configure_app: Callable[[FastAPI], None] | None = None
    # True for the public entry (the BFF): it checks people's tokens, not the service token
    public: bool = False
    # tables purged by age besides the inbox (commerce.platform.retention)
    retention: Sequence[Retention] = ()

    @property
    def spec(self) -> ServiceSpec:
        """The deployment entry; services outside the list (tests) get one without a port."""
        return SERVICES.get(self.name) or ServiceSpec(self.name, 0, self.title or self.name, "")

    @property
    def tables(self) -> PlatformTables:
        return PlatformTables.of(self.metadata)


class ServiceRuntime:
    """A running service: its database, outbox relay, consumer, background tasks and app."""

    def __init__(
        self,
        service: Service,
        settings: Settings,
        producer: AIOKafkaProducer,
        *,
        database_url: str | None = None,
        local: LocalApps | None = None,
        watch: BrokerWatch | None = None,
    ) -> None:
        self.service = service
        # the broker's incarnation (docs/adr/0020): shared by a process's services, or own
        self._own_watch = watch is None
        self.watch = watch or BrokerWatch(settings, producer)
        self.settings = settings
        self.spec = service.spec
        self.producer = producer
        self.metrics = ServiceMetrics(service.name)
        self.db = Database(
            database_url or settings.service_database_url(self.spec.env_prefix, self.spec.database),
            pool_size=settings.db_pool_size,
        )
        self.tables = service.tables
        self.outbox = Outbox(self.tables)
        self.relay = OutboxRelay(
            service.name,
            self.db,
            self.tables,
            producer,
            self.metrics,
            poll_seconds=settings.outbox_poll_seconds,
            retention_hours=settings.outbox_retention_hours,
            replay_seconds=settings.outbox_replay_seconds,
            watch=self.watch,
        )
        self.consumer: ConsumerRunner | None = None
        if service.handlers:
            self.consumer = ConsumerRunner(
                name=service.name,
                db=self.db,
                tables=self.tables,
                outbox=self.outbox,
                consumer_factory=lambda *topics, **kw: make_consumer(settings, *topics, **kw),
                handlers=service.handlers,
                metrics=self.metrics,
                max_attempts=settings.consumer_max_attempts,
                backoff_seconds=settings.consumer_backoff_seconds,
                idle_fetch_interval=settings.kafka_idle_fetch_interval_ms / 1000,
                commit_interval=settings.kafka_commit_interval_ms / 1000,
                services=self,
                watch=self.watch,
            )
        # `local` finds the services running in this process: calls to them skip the network
        transport = None
        if local is not None and settings.in_process_calls:
            transport = InProcessTransport(local, httpx.AsyncHTTPTransport())
        # every call to another service carries the platform's service token (in process
        # too: InProcessTransport hands the target the same headers)
        token = settings.service_token.get_secret_value() if settings.service_token else None
        self.http = httpx.AsyncClient(
            timeout=settings.http_timeout_seconds,
            cookies=NoCookies(),
            headers={SERVICE_TOKEN_HEADER: token} if token else None,
            event_hooks={"request": [_propagate_context]},
            transport=transport,
        )
        self.slots: dict[Slot[Any], Any] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self.app = build_app(self)

    async def start(self, *, background: bool = True) -> None:
        """Start publishing, consuming and background work (HTTP is served separately).

        A replica (docs/adr/0031) starts without `background`: its sweepers, follow-ups and
        purges run once, in the process that runs the service whole."""
        if self._own_watch:
            self.watch.start()
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service.name}:relay"))
        if self.consumer is not None:
            self._tasks.append(
                asyncio.create_task(self.consumer.run(), name=f"{self.service.name}:consumer")
            )
        for task in (retention_loop, *self.service.background) if background else ():
            self._background.append(
                asyncio.create_task(
                    supervised(task, self, self.service.name), name=f"{self.service.name}:bg"
                )
            )
        log.info("service.started", service=self.service.name)

    async def wait_consuming(self) -> None:
        """Return once the consumer has joined its group (bounded by the caller)."""
        if self.consumer is not None:
            await self.consumer.wait_started()

    async def stop(self) -> None:
        """Graceful: the consumer finishes its batch and commits, the relay its batch."""
        if self.consumer is not None:
            await self.consumer.stop()
        await self.relay.stop()
        for task in self._background:
            task.cancel()
        tasks = self._tasks + self._background
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=15)
            for task in pending:
                task.cancel()
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log.error(
                        "service.task_failed", task=task.get_name(), error=str(task.exception())
                    )
        self._tasks.clear()
        self._background.clear()
        if self._own_watch:
            await self.watch.stop()
        await self.http.aclose()
        await self.db.dispose()
        log.info("service.stopped", service=self.service.name)

    def url_of(self, service: str) -> str:
        """Base URL of another service (for the few synchronous calls, e.g. price quotes)."""
        return self.settings.service_url(service)

    async def ready(self) -> dict[str, str]:
        """Checks for /readyz: the database answers and the broker is reachable."""
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(self.db.ping(), 2.0)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 2.0)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unavailable: {type(exc).__name__}"
        return checks


async def _propagate_context(request: httpx.Request) -> None:
    """Outgoing calls carry the trace context and the correlation id of the work at hand."""
    carrier: dict[str, str] = {}
    inject(carrier)
    if "x-correlation-id" not in request.headers:
        correlation_id = structlog.contextvars.get_contextvars().get("correlation_id")
        if correlation_id:
            carrier["x-correlation-id"] = str(correlation_id)
    if carrier:
        request.headers.update(carrier)


async def supervised(task: BackgroundTask, runtime: ServiceRuntime, name: str) -> None:
    """Run a background loop; restart it after an unexpected error, with a pause."""
    while True:
        try:
            await task(runtime)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise_if_cancelled(exc)
            log.exception("service.background_failed", service=name)
            await asyncio.sleep(2.0)


class NoCookies(http.cookiejar.CookieJar):
    """The calls between services carry no cookies: a cookie one service answers is not
    kept for the next call, which is made for someone else (and parsing every answer's
    headers for cookies cost a share of each call)."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def runtime_dependency(request: Request) -> ServiceRuntime:
    """`get_runtime` as a dependency. Async on purpose: FastAPI runs a plain `def`
    dependency in its thread pool, a thread hop on every request for a dict lookup."""
    return get_runtime(request)


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The API `app.include_router(router)` gives, with `router`'s routes in `app`'s own
    list, so a request is matched against one list once. FastAPI keeps an included
    router as a branch: each request scans the app's routes, then the branch's routes to
    choose it, then the same routes again within it (and walks the branch's routes once
    more to check whether they changed). Each route already carries its router's prefix,
    tags and responses."""
    app.router.routes.extend(router.routes)


NO_FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

RuntimeDep = Annotated[ServiceRuntime, Depends(runtime_dependency)]


class _RequestContext:
    """Correlation id in and out, request metrics, a server span, and the id bound to every
    log record. A plain ASGI middleware: `BaseHTTPMiddleware` ran every request's app in a
    task of its own and streamed the response through a memory channel, which cost more
    than the handlers of most routes."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        correlation_id = (
            headers.get("x-correlation-id") or headers.get("x-request-id") or str(uuid.uuid4())
        )
        method: str = scope["method"]
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-correlation-id"] = correlation_id
            await send(message)

        with (
            bound(correlation_id=correlation_id),
            server_span(f"{method} {scope['path']}", headers) as span,
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                path = getattr(scope.get("route"), "path", "unmatched")
                if span.is_recording():  # not when no exporter is set (docs/adr/0015)
                    span.update_name(f"{method} {path}")
                    span.set_attribute("http.response.status_code", status)
                self.metrics.http_requests.labels(method, path, str(status)).inc()
                self.metrics.http_seconds.labels(method, path).observe(
                    time.perf_counter() - started
                )


class InboxQuery(BaseModel):
    message_ids: list[uuid.UUID] = Field(max_length=1000)


def build_app(runtime: ServiceRuntime) -> FastAPI:
    service = runtime.service
    app = FastAPI(
        title=service.title or f"agentshop {service.name}",
        description=runtime.spec.description,
        version="0.1.0",
        # FastAPI's own request and operation spans: only when spans are exported, since
        # unexported ones would be dropped anyway (docs/adr/0015)
        telemetry=None if tracing_exported() else NO_FASTAPI_TELEMETRY,
        docs_url=None,  # served from the package's own copy of Swagger UI, not a CDN
        redoc_url=None,
    )
    apidocs.install(app)
    app.state.runtime = runtime
    app.state.error_response = default_error_response
    settings = runtime.settings

    def errors() -> ErrorResponse:
        shape: ErrorResponse = app.state.error_response
        return shape

    token = settings.service_token.get_secret_value() if settings.service_token else None
    app.add_middleware(
        Edge,
        max_body_bytes=settings.max_body_bytes,
        service_token=None if service.public else token,
        errors=errors,
    )
    app.add_middleware(_RequestContext, metrics=runtime.metrics)
    install_unavailable_handlers(app, errors)

    @app.get("/healthz", tags=["ops"], operation_id="ops-healthz")
    async def healthz() -> dict[str, str]:
        """Liveness: the process serves requests."""
        return {"status": "ok", "service": service.name}

    @app.get("/readyz", tags=["ops"], operation_id="ops-readyz")
    async def readyz() -> JSONResponse:
        """Readiness: the service's database and the broker answer."""
        checks = await runtime.ready()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "service": service.name, "checks": checks},
            status_code=200 if ok else 503,
        )

    @app.get("/metrics", tags=["ops"], operation_id="ops-metrics", include_in_schema=False)
    async def metrics() -> Response:
        with contextlib.suppress(Exception):
            runtime.metrics.outbox_backlog.set(await runtime.relay.backlog())
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/ops/inbox", tags=["ops"], operation_id="ops-inbox", include_in_schema=False)
    async def inbox(body: InboxQuery) -> dict[str, Any]:
        """Which of these messages this service's consumer has handled (its effect is
        durable), and how many records it has not handled yet (`backlog`, null when not
        consuming): how senders confirm delivery end to end (docs/adr/0020)."""
        inbox = runtime.tables.inbox
        async with runtime.db.sessions() as session:
            found = list(
                await session.scalars(
                    select(inbox.c.message_id).where(
                        inbox.c.consumer == service.name, inbox.c.message_id.in_(body.message_ids)
                    )
                )
            )
        backlog = await runtime.consumer.backlog() if runtime.consumer is not None else None
        return {"handled": found, "backlog": backlog}

    if service.router is not None:
        add_routes(app, service.router)
    if service.configure_app is not None:
        service.configure_app(app)
    return app
