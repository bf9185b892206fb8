"""Bring the system up: infrastructure, databases, migrations, topics, seeds, services.

Used by the CLI (`agentshop up`, `serve`, `migrate`, `topics`, `seed`) and by the
test fixtures, so tests exercise the same start-up path people run.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import secrets
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from starlette.types import ASGIApp

from commerce.contracts import all_topic_names
from commerce.platform import heap, migrations, wakeups
from commerce.platform.db import Database, ensure_database
from commerce.platform.embedded import EmbeddedBroker, EmbeddedPostgres, port_is_free
from commerce.platform.incarnation import BrokerWatch
from commerce.platform.kafka import ensure_topics, make_producer
from commerce.platform.service import Service, ServiceRuntime
from commerce.platform.settings import Settings, to_asyncpg_url
from commerce.platform.telemetry import configure_tracing
from commerce.services import SERVICES

log = structlog.get_logger(__name__)
T = TypeVar("T")

EMBEDDED_BROKER_TUNING = {
    "KAFKA_FETCH_MAX_WAIT_MS": "5",
    "KAFKA_SESSION_TIMEOUT_MS": "3000",
    "KAFKA_IDLE_FETCH_INTERVAL_MS": "100",
}

# `agentshop up` with no traffic (docs/adr/0030): every service runs in this one process,
# so publishes and commits wake consumers and relays at once; the timers below are only
# fallbacks for what another process does, and each bounds how long that may wait.
QUIET_WHEN_IDLE = {
    # an idle consumer asks this often whether another process published records to it
    "KAFKA_IDLE_FETCH_INTERVAL_MS": "5000",
    # heartbeats every 2.5 s instead of 0.75 s; a consumer that died without leaving its
    # group is replaced after 10 s (here a dead consumer means a dead process anyway)
    "KAFKA_SESSION_TIMEOUT_MS": "10000",
    # aiokafka's fetch routine sleeps this long with nothing to do (its own default, 200
    # ms, woke 11 consumers five times a second each; docs/adr/0047)
    "KAFKA_CONSUMER_TIMEOUT_MS": "5000",
    # a relay reads its outbox this often when no commit here and no NOTIFY woke it
    "AGENTSHOP_OUTBOX_POLL_SECONDS": "20",
    # a broker restarted empty is noticed within this (the supervisor restarts it)
    "AGENTSHOP_BROKER_WATCH_SECONDS": "5",
    # a checkout step that timed out (a lost message) is looked at within this
    "CHECKOUT_ORCHESTRATOR_SWEEP_SECONDS": "2",
    # an order event owed to an agent's webhook is looked for this often
    "GATEWAY_BFF_ACP_WEBHOOK_POLL_SECONDS": "5",
    # what was sent is checked end to end this often (first check after 15-30 s anyway)
    "CHECKOUT_ORCHESTRATOR_FOLLOW_UP_CHECK_SECONDS": "5",
    "GATEWAY_BFF_DELIVERY_CHECK_SECONDS": "5",
    # holds past their expiry are released within this
    "INVENTORY_SWEEP_SECONDS": "5",
}


def quiet_when_idle(environment: Mapping[str, str]) -> dict[str, str]:
    """`environment` (a copy) with `QUIET_WHEN_IDLE` for what it does not set (`agentshop up`)."""
    return {**QUIET_WHEN_IDLE, **environment}


def load_service(name: str) -> Service:
    """Import a service's declaration from the module named in `commerce.services`."""
    try:
        spec = SERVICES[name]
    except KeyError:
        known = ", ".join(sorted(SERVICES))
        raise KeyError(f"unknown service {name!r}; known services: {known}") from None
    module_name, _, attribute = spec.module.partition(":")
    service = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(service, Service):
        raise TypeError(f"{spec.module} is not a Service")
    return service


def service_names(names: Iterable[str] | None = None) -> list[str]:
    chosen = list(SERVICES) if names is None else list(names)
    for name in chosen:
        if name not in SERVICES:
            raise KeyError(f"unknown service {name!r}; known services: {', '.join(SERVICES)}")
    return chosen


# -- infrastructure -------------------------------------------------------------------


@dataclass
class Infrastructure:
    """What `infrastructure()` started (no server when external), and the configuration of
    a run on it: `settings`, what this process runs with, and `environment`, the variables
    its child processes get (the same configuration; `os.environ` itself is left alone)."""

    settings: Settings
    environment: dict[str, str]
    postgres: EmbeddedPostgres | None = None
    broker: EmbeddedBroker | None = None

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()

    async def supervise(self, settings: Settings, every: float = 1.0) -> None:
        """Restart an embedded server that died, on the same port, until cancelled.

        PostgreSQL comes back with its data. The broker comes back empty (memory
        storage): topics are created again, and the relays, seeing a new incarnation,
        send again what they sent within the replay window (docs/adr/0020).
        """
        while True:
            await asyncio.sleep(every)
            if self.postgres is not None and not self.postgres.running:
                log.error("postgres.died", action="restarting")
                await asyncio.to_thread(self.postgres.start)
            if self.broker is not None and not self.broker.running:
                log.error("broker.died", action="restarting; topics are recreated")
                await asyncio.to_thread(self.broker.start)
                await create_topics(settings)


@contextlib.contextmanager
def infrastructure(
    environment: Mapping[str, str] | None = None,
    *,
    on_step: Callable[[str], None] = lambda _: None,
    pg_port: int = 0,
    broker_port: int = 0,
) -> Iterator[Infrastructure]:
    """Start embedded PostgreSQL/broker unless DATABASE_URL/KAFKA_BOOTSTRAP_SERVERS are set.

    `environment` configures the run (default: this process's). Yields the settings made
    from it plus the servers' URLs, a service token (unless one is set) and the embedded
    broker's tuning (for what it does not set), and the same as variables for child
    processes; stops what it started on exit.
    """
    own = dict(os.environ if environment is None else environment)
    infra = Infrastructure(Settings.from_env(own), own)
    settings = infra.settings
    try:
        if settings.service_token is None:
            # internal APIs answer only the platform: one token for this run, shared with
            # the services of this process and the child processes it starts
            own["AGENTSHOP_SERVICE_TOKEN"] = secrets.token_urlsafe(32)
        if settings.embedded_postgres:
            on_step("starting PostgreSQL (embedded)")
            infra.postgres = EmbeddedPostgres(settings.data_dir / "postgres", port=pg_port)
            infra.postgres.start()
            own["DATABASE_URL"] = infra.postgres.url
        if settings.embedded_kafka:
            on_step("starting Kafka-protocol broker (embedded Tansu)")
            infra.broker = EmbeddedBroker(settings.data_dir / "broker", port=broker_port)
            infra.broker.start()
            own["KAFKA_BOOTSTRAP_SERVERS"] = infra.broker.bootstrap_servers
            # Tansu answers a fetch only when its wait expires, even when data arrived
            # (docs/adr/0002): keep the wait short, and rejoin quickly after a crash.
            for key, value in EMBEDDED_BROKER_TUNING.items():
                own.setdefault(key, value)
        infra.settings = Settings.from_env(own)
        yield infra
    finally:
        infra.stop()


# -- preparation ----------------------------------------------------------------------


def _server_url(settings: Settings, database_url: str) -> str:
    """URL of the maintenance database on the server that holds `database_url`."""
    return to_asyncpg_url(database_url, database="postgres")


async def migrate(settings: Settings, names: Iterable[str] | None = None) -> list[str]:
    """Create missing service databases and upgrade each to head. Idempotent."""
    done = []
    for name in service_names(names):
        service = load_service(name)
        url = settings.service_database_url(service.spec.env_prefix, service.spec.database)
        database = url.rsplit("/", 1)[-1].split("?", 1)[0]
        await ensure_database(_server_url(settings, url), database)
        await migrations.upgrade(service.migrations, url, service.metadata)
        done.append(name)
        log.debug("migrate.done", service=name, database=database)
    return done


async def create_topics(settings: Settings) -> list[str]:
    return await ensure_topics(settings, all_topic_names())


async def seed(settings: Settings, names: Iterable[str] | None = None) -> list[str]:
    """Load each service's demo data. Seeds are idempotent."""
    seeded = []
    for name in service_names(names):
        service = load_service(name)
        if service.seed is None:
            continue
        db = Database(settings.service_database_url(service.spec.env_prefix, service.spec.database))
        try:
            await service.seed(db)
        finally:
            await db.dispose()
        seeded.append(name)
    return seeded


async def prepare(
    settings: Settings, names: Iterable[str] | None = None, *, with_seed: bool = True
) -> None:
    names = service_names(names)
    await migrate(settings, names)
    await create_topics(settings)
    if with_seed:
        await seed(settings, names)


# -- running --------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process supervisor.

    uvicorn wakes every server ten times a second to look at `should_exit` and once a
    second refreshes its Date header; a process serving a dozen services then wakes its
    loop over a hundred times a second doing nothing. This one waits until told to exit,
    and the Date headers of all the servers of a process are refreshed by one timer
    (`RunningServices`, docs/adr/0030).
    """

    _exit_requested: asyncio.Event | None = None
    _should_exit = False

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if value and self._exit_requested is not None:
            self._exit_requested.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        self._exit_requested = asyncio.Event()
        # uvicorn's on_tick refreshes the Date header when the counter is a multiple of 10
        if not await self.on_tick(0):
            await self._exit_requested.wait()

    async def refresh_date(self) -> None:
        await self.on_tick(0)


async def _refresh_dates(servers: list[_Server]) -> None:
    """Refresh the Date header of `servers` (a list that grows) once a second: one timer
    for the process instead of one per server."""
    while True:
        await asyncio.sleep(1.0)
        for server in servers:
            await server.refresh_date()


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})


@dataclass
class RunningServices:
    """Services running in this process, sharing one producer. More can be added later.

    Their calls to each other skip the network (`local_app`, docs/adr/0015): a request to
    the address a service of this process serves on goes straight to its app, for as long
    as its HTTP server is up.
    """

    settings: Settings
    producer: AIOKafkaProducer
    host: str = "127.0.0.1"
    port_offset: int = 0
    port: int | None = None
    serve_http: bool = True
    watch: BrokerWatch | None = None
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    servers: list[_Server] = field(default_factory=list)
    server_tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _dates: asyncio.Task[None] | None = field(default=None, init=False)  # of `servers`
    # (host, port) -> the runtime serving it in this process, with its HTTP server (None: a
    # replica's service that answers only this process's calls, docs/adr/0031)
    _serving: dict[tuple[str, int], tuple[ServiceRuntime, _Server | None]] = field(
        default_factory=dict
    )

    def local_app(self, url: httpx.URL) -> ASGIApp | None:
        """The app of the service of this process that serves `url`'s origin, if it is up.

        Looked up on every call: a service that was stopped (its server told to exit, or
        taken out of `runtimes`) is not found, so its callers go to the network and find
        it down there, and one started again is found again.
        """
        if url.scheme != "http":
            return None
        found = self._serving.get((url.host, url.port or 80))
        if found is None:
            return None
        runtime, server = found
        if server is not None and (not server.started or server.should_exit):
            return None
        if self.runtimes.get(runtime.service.name) is not runtime:
            return None
        return runtime.app

    def _hosts(self) -> set[str]:
        """The hosts a call to a service of this process may name (loopback when it binds all)."""
        return set(
            LOOPBACK | {self.host} if self.host in LOOPBACK | ALL_INTERFACES else {self.host}
        )

    async def add_replica(self, consumers: Iterable[str], called: Iterable[str] = ()) -> None:
        """Run this process as a replica of `consumers` (docs/adr/0031): their consumers, in
        the same consumer groups as the process that runs them whole, and their outbox relays
        (the leader lock lets one publish at a time); no HTTP server and no background loop.
        `called`, what those consumers call, answers this process's calls in-process only:
        nothing of theirs starts (no consumer, relay or loop)."""
        consuming = [n for n in service_names(consumers) if n not in self.runtimes]
        answering = [
            n for n in service_names(called) if n not in self.runtimes and n not in consuming
        ]
        new = {name: self._runtime(name) for name in [*consuming, *answering]}
        self.runtimes.update(new)
        for name in consuming:
            await new[name].start(background=False)
        for runtime in new.values():
            for host in self._hosts():
                self._serving[(host, runtime.spec.port + self.port_offset)] = (runtime, None)

    def _runtime(self, name: str) -> ServiceRuntime:
        return ServiceRuntime(
            load_service(name), self.settings, self.producer, local=self.local_app,
            watch=self.watch,
        )  # fmt: skip

    async def add(self, names: Iterable[str]) -> None:
        """Start the named services that are not running yet (HTTP on their own ports)."""
        new = {
            name: self._runtime(name) for name in service_names(names) if name not in self.runtimes
        }
        if not new:
            return
        ports = {
            name: self.port if self.port is not None else r.spec.port + self.port_offset
            for name, r in new.items()
        }
        if self.serve_http:
            busy = [f"{n} ({p})" for n, p in ports.items() if not port_is_free(p, self.host)]
            if busy:
                raise RuntimeError(f"ports already in use: {', '.join(busy)}")
        self.runtimes.update(new)
        for runtime in new.values():
            await runtime.start()
        if not self.serve_http:
            return
        servers = []
        for name, runtime in new.items():
            config = uvicorn.Config(
                runtime.app,
                host=self.host,
                port=ports[name],
                log_config=None,
                access_log=False,
                lifespan="off",
            )
            server = _Server(config)
            servers.append(server)
            self.servers.append(server)
            self.server_tasks.append(asyncio.create_task(server.serve()))
            if self._dates is None:
                self._dates = asyncio.create_task(_refresh_dates(self.servers))
            for host in self._hosts():
                self._serving[(host, ports[name])] = (runtime, server)
        while not all(s.started for s in servers):
            if any(t.done() for t in self.server_tasks):
                raise RuntimeError("an HTTP server failed to start (is its port in use?)")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True
        if self.server_tasks:
            await asyncio.wait(self.server_tasks, timeout=10)
        if self._dates is not None:
            self._dates.cancel()
        await asyncio.gather(*(r.stop() for r in self.runtimes.values()), return_exceptions=True)
        if self.watch is not None:
            await self.watch.stop()
        await self.producer.stop()
        wakeups.leave_siblings()


async def start_services(
    settings: Settings,
    names: Iterable[str] | None = None,
    *,
    host: str = "127.0.0.1",
    port_offset: int | None = None,
    port: int | None = None,
    serve_http: bool = True,
) -> RunningServices:
    """Start the named services in this process (HTTP on each service's own port)."""
    chosen = service_names(names)
    configure_tracing(chosen[0] if len(chosen) == 1 else "agentshop")
    producer = make_producer(settings)
    await producer.start()
    # one of several processes of `agentshop up`: publishes wake the siblings' consumers
    wakeups.join_siblings(settings.wake_sockets, settings.wake_index)
    watch = BrokerWatch(settings, producer)  # one per process (docs/adr/0020)
    watch.start()
    running = RunningServices(
        settings,
        producer,
        watch=watch,
        host=host,
        port_offset=settings.port_offset if port_offset is None else port_offset,
        port=port,
        serve_http=serve_http,
    )
    try:
        await running.add(chosen)
    except BaseException:
        await running.stop()
        raise
    if chosen:  # what start-up made lives as long as the process (docs/adr/0017)
        heap.settle(settings.gc_thresholds)
    return running


async def start_replica(
    settings: Settings, consumers: Iterable[str], called: Iterable[str] = ()
) -> RunningServices:
    """A replica of `consumers` in this process (`RunningServices.add_replica`), returned once
    each of its consumers has joined its group."""
    running = await start_services(settings, [], serve_http=False)
    try:
        consumers = service_names(consumers)
        await running.add_replica(consumers, called)
        for name in consumers:  # not `called`: their consumers do not start here
            await asyncio.wait_for(running.runtimes[name].wait_consuming(), 120)
    except BaseException:
        await running.stop()
        raise
    heap.settle(settings.gc_thresholds)
    return running


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the services' event loop: uvloop when installed (it ships with uvicorn[standard]).

    Every service of a process shares this one loop, so its own overhead is paid on every
    request and every fetch from the broker; uvloop's is several times lower than asyncio's.
    """
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux and macOS
        return asyncio.run(main)
    return uvloop.run(main)


async def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def serve_until_signal(
    start: Callable[[], Awaitable[RunningServices]], started: Callable[[], None] = lambda: None
) -> None:
    """Run services in this process until SIGINT or SIGTERM (`agentshop.group`, `.replica`):
    `start` them, call `started`, wait, stop them within 6 s."""

    async def run() -> None:
        running = await start()
        try:
            started()
            await wait_for_signal()
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(running.stop(), 6.0)

    run_loop(run())


def data_dir(settings: Settings) -> Path:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings.data_dir
