"""What a transaction costs over the embedded PostgreSQL's Unix socket and over loopback TCP.

    uv run python -m benchmarks.postgres_transport
    uv run python -m benchmarks.postgres_transport --transactions 3000 --rounds 7

Starts an embedded PostgreSQL in a temporary folder and opens one asyncpg connection each
way: `EmbeddedPostgres.url` (the Unix socket, what the services use) and `tcp_url`. Each
round runs `--transactions` transactions on one connection, then on the other, as a
consumer's hop runs them: `BEGIN`, an `INSERT ... RETURNING`, `COMMIT`. It prints, per
transaction (the median round), the CPU of this process, the CPU of the server's backend
for that connection, and the wall time (docs/adr/0050).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import psutil

from commerce.platform.embedded import EmbeddedPostgres


async def _transaction(conn: asyncpg.Connection) -> None:
    async with conn.transaction():
        await conn.fetchval("INSERT INTO bench_transport (v) VALUES ($1) RETURNING id", 1)


async def run(postgres: EmbeddedPostgres, transactions: int, rounds: int) -> None:
    ways = {"Unix socket": postgres.url, "loopback TCP": postgres.tcp_url}
    conns = {name: await asyncpg.connect(url) for name, url in ways.items()}
    first = next(iter(conns.values()))
    await first.execute("CREATE TABLE bench_transport (id bigserial PRIMARY KEY, v int)")
    backends = {
        name: psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
        for name, conn in conns.items()
    }
    me = psutil.Process()
    spent: dict[str, list[tuple[float, float, float]]] = {name: [] for name in conns}
    for _ in range(rounds):
        for name, conn in conns.items():
            for _ in range(100):  # warm: statements prepared, caches filled
                await _transaction(conn)
            client, server = me.cpu_times(), backends[name].cpu_times()
            started = time.perf_counter()
            for _ in range(transactions):
                await _transaction(conn)
            wall = time.perf_counter() - started
            client_after, server_after = me.cpu_times(), backends[name].cpu_times()
            spent[name].append(
                (
                    (client_after.user + client_after.system - client.user - client.system),
                    (server_after.user + server_after.system - server.user - server.system),
                    wall,
                )
            )
    print("| transport | this process µs | server backend µs | total CPU µs | wall µs |")
    print("|---|---:|---:|---:|---:|")
    for name, values in spent.items():
        client_us, server_us, wall_us = (
            statistics.median(v[i] for v in values) * 1e6 / transactions for i in range(3)
        )
        print(
            f"| {name} | {client_us:.0f} | {server_us:.0f} | {client_us + server_us:.0f} "
            f"| {wall_us:.0f} |"
        )
    for conn in conns.values():
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=1500, help="per round and way")
    parser.add_argument("--rounds", type=int, default=5, help="alternating, the median kept")
    args = parser.parse_args()
    import uvloop

    with tempfile.TemporaryDirectory(prefix="agentshop-bench-") as data:
        postgres = EmbeddedPostgres(Path(data) / "postgres")
        postgres.start()
        try:
            uvloop.run(run(postgres, args.transactions, args.rounds))
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
