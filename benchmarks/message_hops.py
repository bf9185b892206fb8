"""What one message hop costs: a handler's message, through the outbox, the broker and the
next consumer's transaction, as a saga's steps go.

    uv run python -m benchmarks.message_hops                       # 1 and 8 chains, 15 s each
    uv run python -m benchmarks.message_hops --chains 1,4 --seconds 20
    uv run python -m benchmarks.message_hops --profile hops.prof    # cProfile of this process

Starts an embedded PostgreSQL and broker in a temporary folder, one database with the
platform's tables, one relay and two consumers in two consumer groups, all in this
process as `agentshop up` runs a process's services: `ping` handles a `Ping` by writing a
row and publishing a `Pong`, `pong` handles that `Pong` the same way and publishes the next
`Ping`. Each chain has one message in flight at a time, as a checkout's saga has. Per
level (`--chains` chains at once for `--seconds`) it prints hops a second, a hop's p50 /
p99 (from one handler's commit to the next handler's) and the CPU each part spent per hop
(this process, the broker, PostgreSQL, read from their CPU times). A whole checkout has
13 such hops (`benchmarks.whole_checkout`), which is where most of its CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import statistics
import tempfile
import time
from pathlib import Path

import psutil

# a database with the platform's tables and one of effects, as the durability benchmark's
from benchmarks.durability import fresh_database, tables
from commerce.contracts import Command
from commerce.platform.consumer import ConsumerRunner, Handler, MessageContext
from commerce.platform.db import Database, execute
from commerce.platform.incarnation import BrokerWatch
from commerce.platform.kafka import ensure_topics, make_consumer, make_producer
from commerce.platform.metrics import ServiceMetrics
from commerce.platform.outbox import Outbox, OutboxRelay
from commerce.platform.settings import Settings

PINGS, PONGS = "bench.hops.pings", "bench.hops.pongs"


class Ping(Command, topic=PINGS):
    chain: int
    hop: int

    def partition_key(self) -> str | None:
        return str(self.chain)


class Pong(Command, topic=PONGS):
    chain: int
    hop: int

    def partition_key(self) -> str | None:
        return str(self.chain)


class Chains:
    """When each hop's handler committed, per chain; a chain stops once `running` is off."""

    def __init__(self) -> None:
        self.running = False
        self.last: dict[int, float] = {}
        self.hops: list[float] = []  # seconds from one handler's commit to the next's

    def handled(self, chain: int) -> None:
        now = time.perf_counter()
        before = self.last.get(chain)
        if before is not None:
            self.hops.append(now - before)
        self.last[chain] = now


CHAINS = Chains()


async def _step(ctx: MessageContext, chain: int, reply: Ping | Pong) -> None:
    # one statement, as the services' hot handlers run theirs (on asyncpg, docs/adr/0045)
    await execute(
        ctx.session, "INSERT INTO effects (message_id) VALUES ($1)", ctx.envelope.message_id
    )
    ctx.after_commit(lambda: _committed(chain))
    await ctx.publish(reply)


async def _committed(chain: int) -> None:
    CHAINS.handled(chain)


async def on_ping(message: Ping, ctx: MessageContext) -> None:
    if CHAINS.running:
        await _step(ctx, message.chain, Pong(chain=message.chain, hop=message.hop + 1))


async def on_pong(message: Pong, ctx: MessageContext) -> None:
    if CHAINS.running:
        await _step(ctx, message.chain, Ping(chain=message.chain, hop=message.hop + 1))


def _cpu(parts: dict[str, list[psutil.Process]]) -> dict[str, float]:
    spent: dict[str, float] = {}
    for part, processes in parts.items():
        for process in processes:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                spent[part] = spent.get(part, 0.0) + times.user + times.system
    return spent


def _parts() -> dict[str, list[psutil.Process]]:
    """This process, and its children: the embedded broker and PostgreSQL (its backends)."""
    me = psutil.Process()
    parts: dict[str, list[psutil.Process]] = {"process": [me], "broker": [], "postgresql": []}
    for child in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            parts["broker" if "tansu" in child.name() else "postgresql"].append(child)
    return parts


async def level(db: Database, chains: int, seconds: float, profile: cProfile.Profile | None) -> str:
    CHAINS.running, CHAINS.last, CHAINS.hops = True, {}, []
    outbox = Outbox(tables)
    async with db.transaction() as session:
        for chain in range(chains):
            await outbox.add(session, Ping(chain=chain, hop=0))
    await asyncio.sleep(min(2.0, seconds / 4))  # the chains get going
    parts = _parts()  # PostgreSQL's backends as they are now
    before, hops_before = _cpu(parts), len(CHAINS.hops)
    if profile is not None:
        profile.enable()
    await asyncio.sleep(seconds)
    if profile is not None:
        profile.disable()
    after, hops = _cpu(parts), CHAINS.hops[hops_before:]
    CHAINS.running = False
    await asyncio.sleep(1.0)  # the last hops end
    per_hop = {
        part: (after[part] - before.get(part, 0.0)) * 1000 / max(1, len(hops)) for part in after
    }
    ms = sorted(h * 1000 for h in hops)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else 0.0
    return (
        f"| {chains} | {len(hops) / seconds:,.0f} | {statistics.median(ms) if ms else 0:.2f} / {p99:.2f} "
        f"| {per_hop['process']:.2f} | {per_hop['broker']:.2f} | {per_hop['postgresql']:.2f} "
        f"| {sum(per_hop.values()):.2f} |"
    )


async def run(settings: Settings, args: argparse.Namespace) -> None:
    db = await fresh_database(settings, "bench_hops")
    topics = [PINGS, PONGS, PINGS + ".dlq", PONGS + ".dlq"]
    await ensure_topics(settings, topics, partitions=6)
    producer = make_producer(settings)
    await producer.start()
    watch = BrokerWatch(settings, producer)
    watch.start()
    await watch.wait_known(30)
    metrics = ServiceMetrics("bench")
    relay = OutboxRelay("bench", db, tables, producer, metrics, watch=watch)
    consumers = [
        ConsumerRunner(
            name=name,
            db=db,
            tables=tables,
            outbox=Outbox(tables),
            consumer_factory=lambda *t, **kw: make_consumer(settings, *t, **kw),
            handlers=[handler],
            metrics=metrics,
            watch=watch,
            idle_fetch_interval=settings.kafka_idle_fetch_interval_ms / 1000,
            commit_interval=settings.kafka_commit_interval_ms / 1000,
        )
        for name, handler in (("ping", Handler(Ping, on_ping)), ("pong", Handler(Pong, on_pong)))
    ]
    tasks = [asyncio.create_task(relay.run())]
    tasks += [asyncio.create_task(c.run()) for c in consumers]
    for consumer in consumers:
        await asyncio.wait_for(consumer.wait_started(), 60)
    profile = cProfile.Profile() if args.profile else None
    print(
        "| chains | hops/s | hop p50 / p99 ms | CPU-ms per hop: this process | broker | postgresql | total |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|")
    for chains in args.chains:
        print(await level(db, chains, args.seconds, profile), flush=True)
    if profile is not None:
        profile.dump_stats(args.profile)
        print(f"profile: {args.profile} (python -m pstats {args.profile})")
    for consumer in consumers:
        await consumer.stop()
    await relay.stop()
    for task in tasks:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 20)
    await watch.stop()
    await producer.stop()
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    parser.add_argument("--seconds", type=float, default=15.0, help="per level")
    parser.add_argument("--profile", metavar="FILE", help="cProfile this process while measuring")
    args = parser.parse_args()
    import uvloop

    from commerce.platform import stack
    from commerce.platform.logging import configure_logging

    configure_logging("ERROR", "console")
    with tempfile.TemporaryDirectory(prefix="agentshop-bench-") as data:
        environment = {**os.environ, "AGENTSHOP_DATA_DIR": str(Path(data))}
        with stack.infrastructure(environment) as infra:
            uvloop.run(run(infra.settings, args))


if __name__ == "__main__":
    main()
