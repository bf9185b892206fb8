"""The network-in-transaction guard (docs/adr/0032) sees what it must and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import smtplib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from sqlalchemy import text

from commerce.platform import io_guard
from commerce.platform.db import Database
from commerce.platform.service import supervised

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(new_database: Callable[[str], Awaitable[str]]) -> AsyncIterator[Database]:
    database = Database(await new_database("guard"), pool_size=2)
    yield database
    await database.dispose()


@pytest.fixture
async def http_server() -> AsyncIterator[str]:
    """A loopback HTTP server answering every request with 204."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_a_call_inside_a_transaction_is_recorded(db: Database, http_server: str) -> None:
    with io_guard.watching() as found:
        async with httpx.AsyncClient() as http, db.transaction() as session:
            await session.execute(text("SELECT 1"))
            assert (await http.get(http_server)).status_code == 204  # the call still happens
    assert [v.call for v in found] == [f"HTTP GET {http_server}"]
    assert "test_io_guard.py" in found[0].stack


async def test_a_sleep_and_an_smtp_connection_in_a_thread_are_recorded(db: Database) -> None:
    def connect() -> None:
        with contextlib.suppress(OSError):  # nothing listens there: refused
            smtplib.SMTP("127.0.0.1", 9, timeout=1)

    with io_guard.watching() as found:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            await asyncio.sleep(0.01)
            await asyncio.to_thread(connect)
    assert [v.call for v in found] == ["asyncio.sleep(0.01)", "SMTP connect ('127.0.0.1', 9)"]


async def test_calls_outside_a_transaction_are_not(db: Database, http_server: str) -> None:
    with io_guard.watching() as found:
        async with httpx.AsyncClient() as http:
            async with db.transaction() as session:  # committed before the call
                await session.execute(text("SELECT 1"))
            await http.get(http_server)
            async with db.sessions() as session:  # a session that has not begun yet
                await http.get(http_server)
                await session.execute(text("SELECT 1"))
            async with db.engine.connect() as conn:  # AUTOCOMMIT: no transaction to hold
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("SELECT 1"))
                await http.get(http_server)
            async with db.transaction() as session:  # another task's call is not this one's
                await session.execute(text("SELECT 1"))
                task = asyncio.create_task(http.get(http_server))
            await task
            await asyncio.sleep(0)  # a bare yield is no wait
    assert found == []


async def test_a_background_loop_cancelled_mid_query_stops_and_holds_nothing(db: Database) -> None:
    """Cancelling a query closes its connection, so the transaction around it cannot roll
    back on the way out and raises its own error instead of the cancellation. The loop
    (as a service's background task runs) must stop all the same, not log a failure and
    go round again, and the closed connection holds no transaction for the guard."""
    started = asyncio.Event()

    async def work(_: object) -> None:
        async with db.transaction() as session:
            started.set()
            await session.execute(text("SELECT pg_sleep(30)"))

    with io_guard.watching() as found:
        loop = asyncio.create_task(supervised(work, object(), "guard"))  # type: ignore[arg-type]
        await started.wait()
        await asyncio.sleep(0.2)  # the query is running
        loop.cancel()
        done, _ = await asyncio.wait({loop}, timeout=5)
        assert done, "the loop went on after it was cancelled"
        assert loop.cancelled()
    assert found == []


async def test_a_connection_a_cancel_closed_holds_no_transaction(db: Database) -> None:
    with io_guard.watching() as found:
        with contextlib.suppress(Exception):  # the transaction's own error on the way out
            async with asyncio.timeout(0.2), db.transaction() as session:
                await session.execute(text("SELECT pg_sleep(30)"))
        await asyncio.sleep(0.01)  # the same task, its connection gone
    assert found == []
