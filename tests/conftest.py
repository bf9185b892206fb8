"""Session-wide real infrastructure for integration tests.

One embedded PostgreSQL and one Tansu broker per test session, started through
the same code path as `agentshop up` (or external ones when DATABASE_URL /
KAFKA_BOOTSTRAP_SERVERS are set). Unit tests request none of these fixtures and
start nothing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from commerce.platform.db import ensure_database
from commerce.platform.kafka import ensure_topics
from commerce.platform.logging import configure_logging
from commerce.platform.settings import Settings, to_asyncpg_url

if TYPE_CHECKING:
    from commerce.platform.stack import Infrastructure

configure_logging(os.environ.get("AGENTSHOP_LOG_LEVEL", "WARNING"), "console")


@pytest.fixture(scope="session")
def running_infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    """PostgreSQL and the broker for the whole session, and the configuration of a run on
    them: the settings, and the same as variables for child processes."""
    from commerce.platform.stack import infrastructure

    data_dir: Path = tmp_path_factory.mktemp("agentshop-data")
    environment = {"AGENTSHOP_ENV": "test", **os.environ, "AGENTSHOP_DATA_DIR": str(data_dir)}
    with infrastructure(environment) as running:
        yield running


@pytest.fixture(scope="session")
def infra(running_infra: Infrastructure) -> Settings:
    """Settings pointing at a running PostgreSQL and broker for the whole session."""
    return running_infra.settings


@pytest.fixture
def child_env(running_infra: Infrastructure) -> dict[str, str]:
    """The environment of a child process of the session's run (a copy to change)."""
    return dict(running_infra.environment)


@pytest.fixture
def new_database(infra: Settings) -> Callable[[str], Awaitable[str]]:
    """Create a fresh, uniquely named database; returns its asyncpg SQLAlchemy URL."""

    async def create(prefix: str = "t") -> str:
        assert infra.database_url
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        await ensure_database(to_asyncpg_url(infra.database_url), name)
        return to_asyncpg_url(infra.database_url, database=name)

    return create


@pytest.fixture
def new_topic(infra: Settings) -> Callable[..., Awaitable[str]]:
    """Create a fresh topic (default 3 partitions) and return its name."""

    async def create(prefix: str = "test", partitions: int = 3) -> str:
        name = f"{prefix}.{uuid.uuid4().hex[:10]}"
        await ensure_topics(infra, [name, name + ".dlq"], partitions=partitions)
        return name

    return create


@pytest.fixture
async def producer(infra: Settings) -> AsyncIterator[object]:
    from commerce.platform.kafka import make_producer

    p = make_producer(infra)
    await p.start()
    yield p
    await p.stop()


class ServiceStack:
    """Real services running in the test process, started on demand, kept for the session.

    `await stack.ensure("inventory", "payment-gateway")` migrates, seeds and starts
    those not running yet; HTTP is served on loopback at each service's port plus
    AGENTSHOP_PORT_OFFSET. `stack.client("cart")` is an httpx client for one service.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.running: Any = None
        self._lock: Any = None

    async def ensure(self, *names: str) -> None:
        import asyncio

        from commerce.platform import stack as platform_stack

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.running is None:
                await platform_stack.create_topics(self.settings)
                self.running = await platform_stack.start_services(self.settings, [])
            missing = [n for n in names if n not in self.running.runtimes]
            if missing:
                await platform_stack.migrate(self.settings, missing)
                await platform_stack.seed(self.settings, missing)
                await self.running.add(missing)
                for name in missing:
                    await asyncio.wait_for(self.running.runtimes[name].wait_consuming(), 60)

    async def stop(self, name: str) -> None:
        """Stop one service as if it went down (its consumer leaves the group); `ensure` restarts it."""
        runtime = self.running.runtimes.pop(name)
        index = next(i for i, s in enumerate(self.running.servers) if s.config.app is runtime.app)
        server = self.running.servers.pop(index)
        task = self.running.server_tasks.pop(index)
        server.should_exit = True
        await task
        await runtime.stop()

    def runtime(self, name: str) -> Any:
        return self.running.runtimes[name]

    def client(self, name: str) -> Any:
        import httpx

        return httpx.AsyncClient(
            base_url=self.settings.service_url(name),
            timeout=10,
            headers=service_headers(self.settings),
        )


def service_headers(settings: Settings) -> dict[str, str]:
    """What the platform's own calls to an internal service carry: the service token."""
    from commerce.platform.edges import SERVICE_TOKEN_HEADER

    token = settings.service_token
    return {SERVICE_TOKEN_HEADER: token.get_secret_value()} if token else {}


@pytest.fixture(scope="session")
async def stack(infra: Settings) -> AsyncIterator[ServiceStack]:
    # the session's services on their ports plus 20000 unless AGENTSHOP_PORT_OFFSET says
    configured = "AGENTSHOP_PORT_OFFSET" in infra.environment
    services = ServiceStack(
        infra if configured else infra.model_copy(update={"port_offset": 20000})
    )
    yield services
    if services.running is not None:
        await services.running.stop()
