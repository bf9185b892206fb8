"""Every service's Alembic history builds exactly the schema its code declares, idempotently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import create_async_engine

from commerce.platform import migrations
from commerce.platform.stack import load_service
from commerce.services import SERVICES

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_migrations_match_the_models_and_rerun_cleanly(
    name: str, new_database: Callable[[str], Awaitable[str]]
) -> None:
    service = load_service(name)
    url = await new_database(service.spec.database[:20])
    await migrations.upgrade(service.migrations, url, service.metadata)
    await migrations.upgrade(service.migrations, url, service.metadata)  # idempotent

    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn: Any) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(context, service.metadata))

            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert differences == [], f"{name}: migrations and models differ: {differences}"
