"""The connection pool hands out live connections after the server dropped idle ones."""

from __future__ import annotations

import asyncio
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
        for sessions in (db.sessions, db.transaction, db.reads):  # both pools
            async with sessions() as session:
                dropped = await session.scalar(text("SELECT pg_backend_pid()"))
            async with admin.transaction() as session:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
            async with sessions() as session:
                assert await session.scalar(text("SELECT pg_backend_pid()")) != dropped
    finally:
        await db.dispose()
        await admin.dispose()


@pytest.mark.parametrize("kind", ["transaction", "reads"])
async def test_a_connection_lost_under_asyncpg_is_not_pooled_again(
    new_database: Callable[[str], Awaitable[str]], kind: str
) -> None:
    """A statement run on asyncpg directly (`fetch`) that finds its connection gone fails;
    the next session, at once (no idle ping), gets a live connection, not the same one."""
    url = await new_database(f"pool_lost_{kind}")
    db = database.Database(url, pool_size=1)
    admin = database.Database(url, pool_size=1)
    sessions = db.transaction if kind == "transaction" else db.reads
    pid = "SELECT pg_backend_pid()"
    try:
        async with sessions() as session:
            dropped = (await database.fetch(session, pid))[0][0]
        async with admin.transaction() as session:
            await database.fetch(session, "SELECT pg_terminate_backend($1)", dropped)
        with pytest.raises(database._LOST):
            async with sessions() as session:
                await database.fetch(session, "SELECT 1")
        async with sessions() as session:
            assert (await database.fetch(session, pid))[0][0] != dropped
    finally:
        await db.dispose()
        await admin.dispose()


async def test_a_transaction_cancelled_mid_statement_says_it_was_cancelled(
    new_database: Callable[[str], Awaitable[str]],
) -> None:
    """The cancel closes the connection and the rollback on the way out fails; the caller
    still sees the cancellation (here as the timeout's error), and the pool a live
    connection next."""
    db = database.Database(await new_database("pool_cancel"), pool_size=1)
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2), db.transaction() as session:
                await session.execute(text("SELECT pg_sleep(30)"))
        async with db.transaction() as session:
            assert await session.scalar(text("SELECT 1")) == 1
    finally:
        await db.dispose()
