"""The embedded PostgreSQL after a first start cut short (Ctrl-C during the first
`agentshop up`, while initdb runs)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from commerce.platform.embedded import EmbeddedPostgres

pytestmark = pytest.mark.integration


def test_a_start_after_an_interrupted_initdb_has_a_whole_cluster(tmp_path: Path) -> None:
    data = tmp_path / "postgres"
    start = (
        "from pathlib import Path; from commerce.platform.embedded import EmbeddedPostgres; "
        f"EmbeddedPostgres(Path({str(data)!r})).start()"
    )
    proc = subprocess.Popen([sys.executable, "-c", start], start_new_session=True)
    # initdb writes PG_VERSION early and creates the `postgres` database last: kill it
    # (and the start) in between
    deadline = time.monotonic() + 60
    while not any((data / d / "PG_VERSION").exists() for d in ("pgdata", "pgdata.initdb")):
        assert proc.poll() is None, "the start ended before initdb wrote anything"
        assert time.monotonic() < deadline, "initdb never wrote PG_VERSION"
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)

    postgres = EmbeddedPostgres(data)
    postgres.start()
    try:

        async def databases(url: str) -> list[str]:
            conn = await asyncpg.connect(url)
            try:
                return [r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")]
            finally:
                await conn.close()

        assert "postgres" in asyncio.run(databases(postgres.url))
        assert "postgres" in asyncio.run(databases(postgres.tcp_url))
    finally:
        postgres.stop()
    assert not (data / "pgdata.initdb").exists()


def test_clients_connect_over_the_servers_unix_socket(tmp_path: Path) -> None:
    """`url` names the server's Unix socket (cheaper per statement than loopback TCP,
    docs/adr/0050); `tcp_url` stays for tools that need an address and port."""
    postgres = EmbeddedPostgres(tmp_path / "postgres")
    postgres.start()
    try:

        async def over_socket(url: str) -> bool:
            conn = await asyncpg.connect(url)
            try:
                return bool(await conn.fetchval("SELECT inet_server_addr() IS NULL"))
            finally:
                await conn.close()

        assert "host=" in postgres.url
        assert asyncio.run(over_socket(postgres.url))
        assert not asyncio.run(over_socket(postgres.tcp_url))
    finally:
        postgres.stop()
