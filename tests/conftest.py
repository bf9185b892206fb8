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

import pytest

from commerce.platform.db import ensure_database
from commerce.platform.kafka import ensure_topics
from commerce.platform.logging import configure_logging
from commerce.platform.settings import Settings, get_settings, to_asyncpg_url

os.environ.setdefault("AGENTSHOP_ENV", "test")
configure_logging(os.environ.get("AGENTSHOP_LOG_LEVEL", "WARNING"), "console")


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings pointing at a running PostgreSQL and broker for the whole session."""
    from commerce.platform.stack import infrastructure

    data_dir: Path = tmp_path_factory.mktemp("agentshop-data")
    os.environ["AGENTSHOP_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    with infrastructure(get_settings()):
        yield get_settings()


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
