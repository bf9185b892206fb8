"""A slow pricing service holds no transaction and no saga row lock (docs/adr/0032).

The checkout re-prices through discount-engine and tax-calculation before its saga's
transactions: the consumer prices a new checkout before it opens the transaction that
records it, and the sweeper prices the sagas waiting in PRICING before it locks them.
Here tax-calculation is replaced by a server that holds each request until the test lets
it go, and while it holds one the test looks at the checkout database.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from commerce.platform.db import asyncpg_dsn
from tests.conftest import ServiceStack
from tests.integration.checkout.helpers import (
    finished,
    get,
    initiate,
    ready,
    service_down,
    stocked,
)
from tests.integration.helpers import eventually, send

pytestmark = pytest.mark.integration


class StallingServer:
    """Answers every HTTP request with 503, but only once `release` is set; counts them."""

    def __init__(self) -> None:
        self.arrived: list[float] = []  # monotonic arrival time of each request
        self.release = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")),
                0,
            )  # fmt: skip
            await reader.readexactly(length)
            self.arrived.append(time.monotonic())
            await self.release.wait()
            writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")  # fmt: skip
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def _stalled(stack: ServiceStack) -> AsyncIterator[StallingServer]:
    """tax-calculation down, a stalling server on its port; the service back afterwards."""
    port = urlsplit(stack.settings.service_url("tax-calculation")).port
    stall = StallingServer()
    async with service_down(stack, "tax-calculation"):
        server = await asyncio.start_server(stall.handle, "127.0.0.1", port)
        try:
            yield stall
        finally:
            stall.release.set()
            server.close()
            await server.wait_closed()


async def held_for(stall: StallingServer, requests: int, seconds: float) -> None:
    """Wait until the `requests`-th request has been held for `seconds`."""
    await eventually(
        lambda: asyncio.sleep(0, len(stall.arrived)), lambda n: n >= requests, within=30
    )
    arrived = stall.arrived[requests - 1]
    await eventually(
        lambda: asyncio.sleep(0, time.monotonic() - arrived), lambda age: age >= seconds
    )


async def transactions_waiting(conn: asyncpg.Connection, seconds: float) -> list[str]:
    """Transactions of this database that are open and idle (waiting on their client) and
    began more than `seconds` ago: what a transaction waiting on another service looks like."""
    rows = await conn.fetch(
        "SELECT application_name, query FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND state LIKE 'idle in transaction%' AND xact_start < now() - make_interval(secs => $1)",
        seconds,
    )
    return [str(r["query"]) for r in rows]


async def test_a_slow_pricing_service_holds_no_transaction_and_no_saga_lock(
    stack: ServiceStack, producer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(stack)
    line = await stocked(stack, 2)
    command = await initiate(stack, [line])  # quoted while tax-calculation answers
    saga_settings = stack.runtime("checkout-orchestrator").settings.checkout
    monkeypatch.setattr(saga_settings, "step_timeout_seconds", 0.3)
    monkeypatch.setattr(saga_settings, "max_resends", 1000)  # pricing may stay away
    db_url = stack.runtime("checkout-orchestrator").db.url
    conn = await asyncpg.connect(asyncpg_dsn(db_url))
    try:
        async with _stalled(stack) as stall:
            # 1. the consumer prices the new checkout: no transaction is open meanwhile
            await send(producer, command)
            await held_for(stall, 1, 1.0)
            assert await transactions_waiting(conn, 0.5) == []
            assert (
                await get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}")
                is None
            )
            stall.release.set()  # pricing is away: the saga waits in PRICING
            saga = await eventually(
                lambda: get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}"),
                lambda s: s is not None,
            )
            assert saga["state"] == "pricing"
            # 2. the sweeper prices it again: the saga's row is not locked meanwhile
            stall.release = asyncio.Event()
            count = len(stall.arrived)
            await held_for(stall, count + 1, 1.0)
            assert await transactions_waiting(conn, 0.5) == []
            async with conn.transaction():
                locked = await conn.fetchval(
                    "SELECT checkout_id FROM sagas WHERE checkout_id = $1 FOR UPDATE NOWAIT",
                    command.checkout_id,
                )
            assert locked == command.checkout_id
        # 3. tax-calculation is back: the sweeper prices the saga and it completes
        done = await finished(stack, command.checkout_id)
    finally:
        await conn.close()
    assert done["state"] == "completed", done
    assert done["totals"]["total_cents"] == command.quote.total_cents
