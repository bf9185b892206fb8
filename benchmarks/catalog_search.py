"""Search and detail latency of the catalog service.

    uv run python -m benchmarks.catalog_search                 # starts what it needs
    uv run python -m benchmarks.catalog_search --url http://localhost:8101

Runs a bounded mix of searches (words, typos, filters, sorts) and detail reads with a
fixed concurrency and prints p50/p95/p99 and requests/s per kind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from commerce.platform.edges import SERVICE_TOKEN_HEADER
from commerce.platform.settings import Settings, get_settings

QUERIES: list[dict[str, str | int]] = [
    {"q": "usb c cable"}, {"q": "headphnoes"}, {"q": "aa batteries"}, {"q": "coffee"},
    {"q": "notebook", "sort": "price_asc"}, {"category": "kitchen", "max_price_cents": 3000},
    {"q": "wireless", "category": "electronics"}, {"q": "tent"}, {"q": "hoodie", "attr.color": "black"},
    {"category": "books", "sort": "name", "offset": 20}, {"q": "travel mug"}, {"q": "running shoes"},
    {"q": "green tea bags"}, {"q": "phone case", "attr.color": "black"}, {"category": "shoes", "sort": "price_asc"},
]  # fmt: skip
PRODUCTS = ["p-cable-usbc", "p-battery-aa", "p-headphones-anc", "p-notebook-a5", "p-coffee-house"]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(url: str, requests: int, concurrency: int, settings: Settings) -> None:
    rng = random.Random(7)
    timings: dict[str, list[float]] = defaultdict(list)
    errors = 0
    token = settings.service_token  # catalog is an internal API: the platform's token
    headers = {SERVICE_TOKEN_HEADER: token.get_secret_value()} if token else None
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as http:
        for _ in range(20):  # warm up pools and caches
            await http.get("/products", params={"q": "cable"})

        async def worker(n: int) -> None:
            nonlocal errors
            for _ in range(n):
                if rng.random() < 0.7:
                    kind, response_at = "search", time.perf_counter()
                    response = await http.get("/products", params=rng.choice(QUERIES))
                else:
                    kind, response_at = "detail", time.perf_counter()
                    response = await http.get(f"/products/{rng.choice(PRODUCTS)}")
                timings[kind].append((time.perf_counter() - response_at) * 1000)
                errors += response.status_code >= 400

        started = time.perf_counter()
        await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    total = sum(len(v) for v in timings.values())
    print(
        f"catalog: {total} requests, concurrency {concurrency}, {total / elapsed:.0f} req/s, {errors} errors"
    )
    for kind, values in sorted(timings.items()):
        print(
            f"  {kind:7s} n={len(values):5d}  p50={statistics.median(values):6.2f} ms  "
            f"p95={percentile(values, 95):6.2f} ms  p99={percentile(values, 99):6.2f} ms"
        )


async def with_own_stack(requests: int, concurrency: int) -> None:
    from commerce.platform import stack
    from commerce.platform.logging import configure_logging

    configure_logging("WARNING", "console")
    environment = {
        "AGENTSHOP_DATA_DIR": str(Path(tempfile.mkdtemp()) / "data"),
        "AGENTSHOP_PORT_OFFSET": "40000",
        **os.environ,
    }
    with stack.infrastructure(environment) as infra:
        settings = infra.settings
        started = time.perf_counter()
        await stack.prepare(settings, ["inventory", "catalog"])
        print(f"migrate + seed of inventory and catalog: {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        await stack.seed(settings, ["catalog"])  # again: idempotent, nothing new
        print(f"catalog seed again (all rows already there): {time.perf_counter() - started:.2f} s")
        running = await stack.start_services(settings, ["inventory", "catalog"])
        try:
            await run(settings.service_url("catalog"), requests, concurrency, settings)
        finally:
            await running.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running catalog service (default: start one)")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args.url, args.requests, args.concurrency, get_settings()))
    else:
        asyncio.run(with_own_stack(args.requests, args.concurrency))


if __name__ == "__main__":
    main()
