"""The connection pool hands out live connections after the server dropped idle ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text

from commerce.platform import db as database

pytestmark = pytest.mark.integration


async def test_connection_dropped_by_the_server_is_replaced(
    new_database: Callable[[str], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)  # every checkout counts as idle
    url = await new_database("pool")
    db = database.Database(url, pool_size=1)
    admin = database.Database(url, pool_size=1)
    try:
        async with db.sessions() as session:
            dropped = await session.scalar(text("SELECT pg_backend_pid()"))
        async with admin.transaction() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
        async with db.transaction() as session:
            assert await session.scalar(text("SELECT pg_backend_pid()")) != dropped
    finally:
        await db.dispose()
        await admin.dispose()
