"""Latency of the shopping assistant through the BFF, offline parser.

    uv run python -m benchmarks.assistant_turns                 # starts what it needs
    uv run python -m benchmarks.assistant_turns --url http://localhost:8000

Each demo user runs conversations one after another (a person has one cart): a purchase
request answered with a confirmation (parse, plan against the catalog, cart, quote), then
the approval answered with the saga's outcome. Prints p50/p95 per kind and the share of
purchases that ended in an order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from shopapi import client as api

USERS = [
    ("alice@example.com", "alice-demo-pass"),
    ("bob@example.com", "bob-demo-pass"),
    ("carla@example.com", "carla-demo-pass"),
]
REQUESTS = [
    "two packs of AA batteries and a USB-C cable, under $30, ship home",
    "buy 2 AAA batteries",
    "a 2m usb-c cable and an 8-pack of AA batteries",
    "buy a USB-C wall charger, under $40",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def person(
    url: str, email: str, password: str, rounds: int, timings: dict[str, list[float]]
) -> tuple[int, int]:
    completed = failed = 0
    async with api.AsyncClient(url, timeout=60) as shop:
        await shop.sign_in(email, password)
        for line in (await shop.send(api.cart())).lines:
            await shop.send(api.remove_line(line.sku))
        for n in range(rounds):
            started = time.perf_counter()
            try:
                turn = await shop.send(api.send_message(None, REQUESTS[n % len(REQUESTS)]))
            except api.ShopError:
                turn = None
            timings["message -> confirmation"].append((time.perf_counter() - started) * 1000)
            if turn is None or turn.pending is None:
                failed += 1
                continue
            started = time.perf_counter()
            try:
                state = (await shop.send(api.confirm(turn.conversation_id, True))).state
            except api.ShopError:
                state = "failed"
            timings["approve -> outcome"].append((time.perf_counter() - started) * 1000)
            completed += state == "completed"
            failed += state != "completed"
    return completed, failed


async def run(url: str, rounds: int) -> None:
    timings: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    results = await asyncio.gather(*(person(url, e, p, rounds, timings) for e, p in USERS))
    elapsed = time.perf_counter() - started
    completed = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    print(
        f"assistant: {len(USERS)} people x {rounds} purchases in {elapsed:.1f} s: "
        f"{completed} orders, {failed} not completed"
    )
    for kind, values in timings.items():
        print(
            f"  {kind:24s} n={len(values):4d}  p50={statistics.median(values):7.1f} ms  "
            f"p95={percentile(values, 95):7.1f} ms  max={max(values):7.1f} ms"
        )


async def with_own_stack(rounds: int) -> None:
    from commerce.platform import stack
    from commerce.platform.logging import configure_logging
    from commerce.services import SERVICES

    configure_logging("WARNING", "console")
    environment = {
        "AGENTSHOP_DATA_DIR": str(Path(tempfile.mkdtemp()) / "data"),
        "AGENTSHOP_PORT_OFFSET": "40000",
        "AGENTSHOP_RATE_LIMIT_PER_MINUTE": "100000",
        **os.environ,
    }
    with stack.infrastructure(environment) as infra:
        settings = infra.settings
        names = list(SERVICES)
        await stack.prepare(settings, names)
        running = await stack.start_services(settings, names)
        try:
            await asyncio.sleep(3)  # consumers join their groups
            await run(settings.service_url("gateway-bff"), rounds)
        finally:
            await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running BFF (default: start the whole stack)")
    parser.add_argument("--rounds", type=int, default=10, help="purchases per person")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.rounds))
    else:
        asyncio.run(with_own_stack(args.rounds))


if __name__ == "__main__":
    main()
