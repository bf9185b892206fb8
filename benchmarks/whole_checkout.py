"""The whole checkout through the BFF, as a person does it, at 1, 4 and 20 users.

    uv run python -m benchmarks.whole_checkout                   # starts `agentshop up` itself
    uv run python -m benchmarks.whole_checkout --seconds 30 --levels 1,4,20
    uv run python -m benchmarks.whole_checkout --url http://localhost:8000
    uv run python -m benchmarks.whole_checkout --first-checkout 120   # after a quiet period
    uv run python -m benchmarks.whole_checkout --rate 10 --seconds 30  # paced, open loop

Each user is signed in once, then in a closed loop: put 1-2 items in the cart, quote it
with shipping and tax, check out with a test card and wait until the order exists (the
checkout's state is `completed`). Per level (`--seconds` each, users started together)
it prints checkouts/s, the whole checkout's p50/p95/p99 (first add to cart to the
order), add-to-cart p50/p99 and the errors (any other answer, or a checkout that did
not complete), then the mean of each step (the cart, the quote, the checkout accepted,
the saga) for all checkouts and for the slowest 1 %. This is the flow of the peer
comparison in the README's Performance section; the client is the same for every system
compared.

Without `--url` it starts the embedded PostgreSQL and broker in this process, runs
`agentshop up --no-ui` as a child process on them (port offset 15000 or `--port-offset`,
a scratch data directory, removed at the end unless `--keep`) and creates the load-test
users in the BFF's database. With `--url` the load-test users (`agentshop load` creates
them) must exist already.

With its own stack it also prints the CPU each component spent per completed checkout
(CPU-ms: the services' processes, the broker, PostgreSQL; their sum is the stack's, and
"machine busy" its share of all cores), read from the processes' CPU times before and
after each level, and the client's own (this process's) beside it: on one machine the
client takes from the cores the stack could use. `--processes N`,
`--groups 'a,b;c,d'` and `--replicas N` are passed to `agentshop up` (docs/adr/0031).

`--rate R` instead starts R checkouts per second at an even pace for `--seconds` (an
open loop: a checkout starts on time whether or not the earlier ones have finished), each
by a signed-in user who has no checkout running (a pool of `--pool` users); its latency
counts from the moment it was due, so a stack that falls behind shows it in the
percentiles. A checkout due while every user is busy counts as an error ("no free user").
A paced run first runs `--warm-up` seconds (10 by default) at the same pace, not counted:
a fresh stack's first seconds fill its connection pools and caches, and a p99 of a few
hundred checkouts is a handful of them.

`--per-request N` (own stack) instead sends, with one user, N requests of each kind the
checkout sends (the cart, a line added and removed, a quote) and N/2 whole checkouts, one
kind at a time, and prints the stack's CPU per request of each kind: what a checkout's
messages cost besides its requests is the difference.

`--first-checkout SECONDS` instead times single checkouts, each after SECONDS with no
traffic at all (after one warm-up checkout): what a quiet stack adds to the first
checkout (docs/adr/0030). `--tuning embedded` runs `agentshop up` with the fast idle
fallbacks the test fixtures use, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PORT_OFFSET = 15000
HOME = {
    "name": "Bench Shopper",
    "line1": "1 Main St",
    "city": "Portland",
    "region": "OR",
    "postal_code": "97201",
    "country": "US",
}

# the idle fallbacks the test fixtures use (and `agentshop up` used before docs/adr/0030)
FAST_FALLBACKS = {
    "KAFKA_IDLE_FETCH_INTERVAL_MS": "100",
    "KAFKA_SESSION_TIMEOUT_MS": "3000",
    "AGENTSHOP_OUTBOX_POLL_SECONDS": "1",
    "AGENTSHOP_BROKER_WATCH_SECONDS": "1",
    "CHECKOUT_ORCHESTRATOR_SWEEP_SECONDS": "0.5",
    "GATEWAY_BFF_ACP_WEBHOOK_POLL_SECONDS": "0.5",
    "CHECKOUT_ORCHESTRATOR_FOLLOW_UP_CHECK_SECONDS": "2",
    "GATEWAY_BFF_DELIVERY_CHECK_SECONDS": "2",
    "INVENTORY_SWEEP_SECONDS": "1",
}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@dataclass
class Level:
    users: int
    rate: float = 0.0  # checkouts started per second (paced), 0 for a closed loop
    checkouts: list[float] = field(default_factory=list)  # whole checkout, ms
    adds: list[float] = field(default_factory=list)  # add to cart, ms
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    steps: list[dict[str, float]] = field(default_factory=list)  # per checkout, ms per step
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per component
    load: float = 0.0  # the machine's 1-minute load average at the end
    requests: int = 0  # HTTP requests the shoppers sent (every one, failed checkouts too)


class Shopper:
    def __init__(self, http: httpx.AsyncClient, token: str, skus: list[str]) -> None:
        from shopapi.client import AsyncClient

        self.http = http
        self.api = AsyncClient(str(http.base_url), token, http=http)
        self.auth = {"Authorization": f"Bearer {token}"}
        self.skus = skus
        self.recent: list[str] = []  # a late ClearCart may still take these

    def fresh_sku(self) -> str:
        while (sku := random.choice(self.skus)) in self.recent:
            pass
        return sku

    async def empty_cart(self) -> None:
        cart = await self.http.get("/v1/cart", headers=self.auth)
        for line in cart.json().get("lines", []) if cart.is_success else []:
            await self.http.delete(f"/v1/cart/lines/{line['sku']}", headers=self.auth)

    async def checkout(self, level: Level, due: float | None = None) -> None:
        """One whole checkout; its time goes to `level`, or its failure to `level.errors`.
        `due` (a `time.perf_counter()` value): when a paced checkout should have started;
        its time counts from then."""
        await self.empty_cart()
        started = time.perf_counter() if due is None else due
        steps: dict[str, float] = {}
        chosen = [self.fresh_sku() for _ in range(random.randint(1, 2))]
        for sku in dict.fromkeys(chosen):
            sent = time.perf_counter()
            added = await self.http.post(
                "/v1/cart/lines", json={"sku": sku, "quantity": 1}, headers=self.auth
            )
            level.adds.append((time.perf_counter() - sent) * 1000)
            if not added.is_success:
                level.errors[f"add {added.status_code}"] += 1
                return
        steps["cart"] = (time.perf_counter() - started) * 1000
        quote = await self.http.post(
            "/v1/checkout/quote", json={"shipping_address": HOME}, headers=self.auth
        )
        if not quote.is_success:
            level.errors[f"quote {quote.status_code}"] += 1
            return
        steps["quote"] = (time.perf_counter() - started) * 1000 - sum(steps.values())
        created = await self.http.post(
            "/v1/checkouts",
            json={
                "shipping_address": HOME,
                "payment_token": "tok_visa",
                "expected_total_cents": quote.json()["totals"]["total_cents"],
            },
            headers={**self.auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        if created.status_code != 202:
            level.errors[f"checkout {created.status_code}"] += 1
            return
        steps["accepted"] = (time.perf_counter() - started) * 1000 - sum(steps.values())
        self.recent = (chosen + self.recent)[:12]
        state = await self.outcome(created.json()["checkout_id"])
        if state != "completed":
            level.errors[f"saga {state}"] += 1
            return
        level.checkouts.append((time.perf_counter() - started) * 1000)
        steps["saga"] = level.checkouts[-1] - sum(steps.values())
        level.steps.append(steps)

    async def outcome(self, checkout_id: str, within: float = 60.0) -> str:
        """The saga's outcome by the API client's long polls (`GET /v1/checkouts/{id}?wait=`:
        answered when the state changes), not a poll every few milliseconds."""
        from shopapi.client import ShopError, finished

        try:
            status = await self.api.wait_for_outcome(checkout_id, within=within)
        except ShopError as exc:
            return f"status {exc.status}"
        return status.state if finished(status) else "timeout"


async def sign_in(url: str, count: int) -> list[str]:
    from loadtests.runner import sign_in as load_sign_in

    return await load_sign_in(url, count)


def stock_skus() -> list[str]:
    from commerce.catalog.data import catalog_skus

    return [s.sku for s in catalog_skus() if s.initial_stock >= 50]


async def run_level(url: str, tokens: list[str], users: int, seconds: float) -> Level:
    level = Level(users)
    skus = stock_skus()
    limits = httpx.Limits(max_connections=users + 5, max_keepalive_connections=users + 5)

    async def count(request: httpx.Request) -> None:
        level.requests += 1

    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=limits, event_hooks={"request": [count]}
    ) as http:
        shoppers = [Shopper(http, tokens[n], skus) for n in range(users)]
        stop = time.monotonic() + seconds

        async def loop(shopper: Shopper) -> None:
            while time.monotonic() < stop:
                try:
                    await shopper.checkout(level)
                except httpx.HTTPError as exc:
                    level.errors[type(exc).__name__] += 1

        began = time.perf_counter()
        await asyncio.gather(*(loop(s) for s in shoppers))
        level.elapsed = time.perf_counter() - began
    return level


async def run_paced(url: str, tokens: list[str], rate: float, seconds: float) -> Level:
    """Start `rate` checkouts per second for `seconds`, each by a free user (open loop)."""
    level = Level(users=len(tokens), rate=rate)
    skus = stock_skus()
    limits = httpx.Limits(
        max_connections=len(tokens) + 5, max_keepalive_connections=len(tokens) + 5
    )

    async def count(request: httpx.Request) -> None:
        level.requests += 1

    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=limits, event_hooks={"request": [count]}
    ) as http:
        free = [Shopper(http, token, skus) for token in tokens]
        running: set[asyncio.Task[None]] = set()

        async def one(shopper: Shopper, due: float) -> None:
            try:
                await shopper.checkout(level, due)
            except httpx.HTTPError as exc:
                level.errors[type(exc).__name__] += 1
            finally:
                free.append(shopper)

        began = time.perf_counter()
        for n in range(int(rate * seconds)):
            due = began + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if not free:
                level.errors["no free user"] += 1
                continue
            task = asyncio.create_task(one(free.pop(), due))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running)
        level.elapsed = time.perf_counter() - began
    return level


def stack_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every process of the stack (this process's descendants)."""
    import psutil

    from benchmarks.idle_cpu import part_of

    me = psutil.Process()
    seen: dict[int, tuple[str, float]] = {}
    own = me.cpu_times()
    seen[me.pid] = ("client", own.user + own.system)
    for process in me.children(recursive=True):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        part = part_of(process, -1)
        if part == "other" and "agentshop" in " ".join(process.cmdline()):
            part = "services"  # `agentshop up` itself
        seen[process.pid] = (part, times.user + times.system)
    return seen


def cpu_between(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    spent: dict[str, float] = {}
    for pid, (part, seconds) in after.items():
        spent[part] = spent.get(part, 0.0) + seconds - before.get(pid, (part, 0.0))[1]
    return spent


def report(levels: list[Level]) -> None:
    print(
        "\n| users | checkouts/s | whole checkout p50 / p95 / p99 ms "
        "| add-to-cart p50 / p99 ms | errors | load average | requests per checkout |"
    )
    print("|---:|---:|---|---|---|---:|---:|")
    for lv in levels:
        errors = ", ".join(f"{n} {why}" for why, n in lv.errors.most_common()) or "0"
        c, a = lv.checkouts, lv.adds
        print(
            f"| {_who(lv)} | {len(c) / lv.elapsed:.2f} "
            f"| {percentile(c, 50):,.0f} / {percentile(c, 95):,.0f} / {percentile(c, 99):,.0f} "
            f"| {percentile(a, 50):,.0f} / {percentile(a, 99):,.0f} | {errors} | {lv.load:.1f} "
            f"| {lv.requests / max(len(c), 1):.1f} |"
        )
    print("\nWhere the time went, ms per step (mean): all checkouts / the slowest 1 %")
    for lv in levels:
        print(f"- {_who(lv)}: {_steps(lv.steps)} / {_steps(slowest(lv))}")
    if any(lv.cpu for lv in levels):
        parts = ["services", "broker", "postgresql"]
        print("\nCPU-ms per completed checkout, per component (the stack's processes):")
        print("| users | " + " | ".join(parts) + " | total | machine busy | client |")
        print("|---:|" + "---:|" * (len(parts) + 3))
        for lv in levels:
            done = max(len(lv.checkouts), 1)
            per = [lv.cpu.get(p, 0.0) * 1000 / done for p in parts]
            stack = sum(v for p, v in lv.cpu.items() if p != "client")
            busy = stack / lv.elapsed / (os.cpu_count() or 1) * 100
            client = lv.cpu.get("client", 0.0) * 1000 / done
            print(
                f"| {_who(lv)} | "
                + " | ".join(f"{v:.0f}" for v in per)
                + f" | {sum(per):.0f} | {busy:.0f} % (stack) | {client:.0f} |"
            )


def slowest(level: Level, share: float = 0.01) -> list[dict[str, float]]:
    """The steps of the slowest `share` of the completed checkouts (at least one)."""
    ranked = sorted(zip(level.checkouts, level.steps, strict=True), key=lambda c: c[0])
    return [steps for _, steps in ranked[-max(1, round(len(ranked) * share)) :]] if ranked else []


def _steps(checkouts: list[dict[str, float]]) -> str:
    if not checkouts:
        return "none"
    return ", ".join(
        f"{step} {statistics.fmean(c[step] for c in checkouts):,.0f}" for step in checkouts[0]
    )


def _who(level: Level) -> str:
    return f"paced {level.rate:g}/s ({level.users} users)" if level.rate else str(level.users)


async def levels_run(
    url: str,
    levels: list[int],
    seconds: float,
    own: bool = False,
    rate: float = 0.0,
    warm_up: float = 0.0,
) -> None:
    """Closed-loop `levels` (users each), or with `rate` one paced run by `max(levels)` users;
    first `warm_up` seconds of the same load (the first level's), not counted."""
    tokens = await sign_in(url, max(levels))
    if warm_up > 0:
        warm = (
            await run_paced(url, tokens, rate, warm_up)
            if rate
            else await run_level(url, tokens[: levels[0]], levels[0], warm_up)
        )
        c = warm.checkouts
        print(
            f"warm-up, not counted: {len(c)} checkouts in {warm_up:.0f} s, p50 / p99 "
            f"{percentile(c, 50):,.0f} / {percentile(c, 99):,.0f} ms, "
            f"errors {sum(warm.errors.values())}",
            flush=True,
        )
    results = []
    for users in [max(levels)] if rate else levels:
        print(
            f"{rate:g} checkouts/s paced for {seconds:.0f} s …"
            if rate
            else f"{users} user(s) for {seconds:.0f} s …",
            flush=True,
        )
        before = stack_cpu() if own else {}
        level = (
            await run_paced(url, tokens, rate, seconds)
            if rate
            else await run_level(url, tokens, users, seconds)
        )
        if own:  # the stack runs as this process's descendants: its CPU can be counted
            level.cpu = cpu_between(before, stack_cpu())
        level.load = os.getloadavg()[0]
        results.append(level)
    report(results)


async def per_request(url: str, count: int) -> None:
    """The stack's CPU per request of each kind the checkout sends, one user, one kind at
    a time (`count` of each), and per whole checkout: what the saga's messages cost
    besides the requests is the difference."""
    tokens = await sign_in(url, 1)
    skus = stock_skus()
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        shopper = Shopper(http, tokens[0], skus)
        warm = Level(1)
        for _ in range(20):
            await shopper.checkout(warm)
        sku = shopper.fresh_sku()
        line = {"sku": sku, "quantity": 1}

        async def add_and_remove() -> None:
            await http.post("/v1/cart/lines", json=line, headers=shopper.auth)
            await http.delete(f"/v1/cart/lines/{sku}", headers=shopper.auth)

        async def quote() -> None:
            await http.post(
                "/v1/checkout/quote", json={"shipping_address": HOME}, headers=shopper.auth
            )

        async def whole() -> None:
            await shopper.checkout(warm)

        async def cart() -> None:
            await http.get("/v1/cart", headers=shopper.auth)

        kinds = [
            ("GET /v1/cart", cart, count),
            ("add a line and remove it", add_and_remove, count),
            ("quote (a cart of one line)", quote, count),
            ("whole checkout", whole, count // 2),
        ]
        print(
            "\n| one user, one at a time | n | services | broker | postgresql | total CPU-ms "
            "each |\n|---|---:|---:|---:|---:|---:|"
        )
        for label, call, n in kinds:
            if label.startswith("quote"):
                await shopper.empty_cart()
                await http.post("/v1/cart/lines", json=line, headers=shopper.auth)
            await asyncio.sleep(1.5)  # what earlier requests set going (sagas, marks) ends
            before = stack_cpu()
            for _ in range(n):
                await call()
            await asyncio.sleep(1.5)  # and what these set going is counted
            spent = cpu_between(before, stack_cpu())
            parts = [
                spent.get(part, 0.0) * 1000 / n for part in ("services", "broker", "postgresql")
            ]
            print(
                f"| {label} | {n} | "
                + " | ".join(f"{v:.1f}" for v in parts)
                + f" | {sum(parts):.1f} |"
            )
        if warm.errors:
            print(f"errors: {dict(warm.errors)}")


async def first_checkouts(
    url: str, quiet: float, rounds: int, own: bool = False, database_url: str | None = None
) -> None:
    """Single checkouts: warm ones back to back, then one after each quiet period. With
    its own stack it also prints the CPU the stack spent on each (from just before it to
    half a second after it completed, so the messages after the order count too): unlike
    wall time, that does not depend on what else the machine runs."""
    tokens = await sign_in(url, 1)

    async def one() -> tuple[Level, float]:
        before = stack_cpu() if own else {}
        level = await run_level(url, tokens, 1, 0.001)
        if not own:
            return level, float("nan")
        await asyncio.sleep(0.5)
        return level, sum(cpu_between(before, stack_cpu()).values()) * 1000

    def line(level: Level, cpu: float) -> str:
        parts = ", ".join(f"{k} {v:.0f}" for k, v in (level.steps or [{}])[0].items())
        wall = f"{level.checkouts[0]:.0f} ms" if level.checkouts else "failed"
        load = os.getloadavg()[0]
        return f"{wall} ({parts}); stack CPU {cpu:.0f} ms; load average {load:.1f}"

    async def checkpoints() -> int | None:
        """PostgreSQL's checkpoints so far (after one, each page's first change is logged
        whole): a quiet period that holds one may cost the next writes more."""
        if not own or not database_url:
            return None
        import asyncpg

        from commerce.platform.db import asyncpg_dsn

        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            found = await conn.fetchval(
                "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
            )
        except asyncpg.PostgresError:  # before PostgreSQL 17
            return None
        finally:
            await conn.close()
        return int(found)

    warm, cpu = await one()  # the first one: connections, caches
    print(f"warm-up checkout: {line(warm, cpu)}")
    warm_times, warm_cpu = [], []
    for _ in range(5):  # back to back: the reference a quiet period is compared with
        again, cpu = await one()
        warm_times.extend(again.checkouts)
        warm_cpu.append(cpu)
        print(f"warm checkout: {line(again, cpu)}")
    timed, timed_cpu = [], []
    for n in range(rounds):
        print(f"quiet for {quiet:.0f} s …", flush=True)
        done_before = await checkpoints()
        await asyncio.sleep(quiet)
        done_after = await checkpoints()
        if done_before is not None and done_after is not None:
            print(f"  PostgreSQL checkpoints during the quiet period: {done_after - done_before}")
        level, cpu = await one()
        timed.extend(level.checkouts)
        timed_cpu.append(cpu)
        print(f"first checkout after {quiet:.0f} s quiet (#{n + 1}): {line(level, cpu)}")
    if timed and warm_times:
        extra = statistics.median(timed) - statistics.median(warm_times)
        print(
            f"median wall time: warm {statistics.median(warm_times):.0f} ms, after quiet "
            f"{statistics.median(timed):.0f} ms ({extra:+.0f} ms)"
        )
        if own:
            extra_cpu = statistics.median(timed_cpu) - statistics.median(warm_cpu)
            print(
                f"median stack CPU: warm {statistics.median(warm_cpu):.0f} ms, after quiet "
                f"{statistics.median(timed_cpu):.0f} ms ({extra_cpu:+.0f} ms)"
            )


STACK_ENVIRONMENT: dict[str, str] = {}
"""The environment `agentshop up` runs with while `with_own_stack` runs (for callers)."""


LevelsRun = Callable[..., Coroutine[Any, Any, None]]
"""What runs the load on the stack: `levels_run`'s arguments (url, levels, seconds, own,
rate, warm_up)."""


def with_own_stack(args: argparse.Namespace, run: LevelsRun | None = None) -> None:
    """`args`' load (`run`, by default `levels_run`) on a stack this benchmark starts."""
    from commerce.platform import stack
    from commerce.services import SERVICES
    from loadtests.runner import seed_load_users

    scratch = Path(tempfile.mkdtemp(prefix="agentshop-whole-checkout-"))
    environment = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.endswith("DATABASE_URL") and k != "KAFKA_BOOTSTRAP_SERVERS"
        },
        "AGENTSHOP_DATA_DIR": str(scratch / "data"),
        "AGENTSHOP_PORT_OFFSET": str(args.port_offset),
        "AGENTSHOP_LOG_LEVEL": "WARNING",
        "AGENTSHOP_RATE_LIMIT_PER_MINUTE": "1000000",
    }
    with stack.infrastructure(environment) as infra:
        env = dict(infra.environment)
        STACK_ENVIRONMENT.clear()
        STACK_ENVIRONMENT.update(env)
        # the embedded broker's tuning is inherited (in the infrastructure's environment);
        # `agentshop up` then sets its idle fallbacks, unless told these
        for key in stack.QUIET_WHEN_IDLE:
            env.pop(key, None)
        if args.tuning == "embedded":
            env.update(FAST_FALLBACKS)
        env.update(kv.split("=", 1) for kv in args.set)
        log = scratch / "up.log"
        command = [str(Path(sys.executable).parent / "agentshop"), "up", "--no-ui"]
        if args.processes:
            command += ["--processes", str(args.processes)]
        if args.groups:
            command += ["--groups", args.groups]
        if args.replicas:
            command += ["--replicas", str(args.replicas)]
        with log.open("wb") as out:
            up = subprocess.Popen(
                command,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{SERVICES['gateway-bff'].port + args.port_offset}"
            wait_ready(up, log, [s.port + args.port_offset for s in SERVICES.values()])
            asyncio.run(seed_load_users(infra.settings, max(args.levels)))
            time.sleep(3)  # consumers join their groups
            if args.first_checkout:
                asyncio.run(
                    first_checkouts(
                        url,
                        args.first_checkout,
                        args.rounds,
                        own=True,
                        database_url=infra.settings.database_url,
                    )
                )
            elif args.per_request:
                asyncio.run(per_request(url, args.per_request))
            else:
                asyncio.run(
                    (run or levels_run)(
                        url,
                        args.levels,
                        args.seconds,
                        own=True,
                        rate=args.rate,
                        warm_up=warm_up_seconds(args),
                    )
                )
        finally:
            # `up` may have ended by itself (it could not start: its log says why)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(up.pid, signal.SIGINT)
                try:
                    up.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(up.pid, signal.SIGKILL)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        print(f"kept: {scratch}")


def wait_ready(up: subprocess.Popen[bytes], log: Path, ports: list[int]) -> None:
    """Every service answers /readyz and `up` says it runs (its other processes, replicas
    too, are ready: docs/adr/0031)."""
    deadline = time.monotonic() + 300
    pending = set(ports)
    while pending or "agentshop is running" not in log.read_text(errors="replace"):
        if up.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"agentshop up did not get ready:\n{log.read_text()[-4000:]}")
        for port in list(pending):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    pending.discard(port)
            except httpx.HTTPError:
                pass
        time.sleep(0.5)


def arguments() -> argparse.ArgumentParser:
    """This benchmark's options; other benchmarks that run its stack parse theirs with it."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", help="a running BFF (default: start the stack)")
    parser.add_argument("--seconds", type=float, default=30.0, help="per level")
    parser.add_argument(
        "--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 20]
    )
    parser.add_argument(
        "--first-checkout", type=float, metavar="SECONDS", help="time checkouts after quiet"
    )
    parser.add_argument("--rounds", type=int, default=2, help="with --first-checkout")
    parser.add_argument(
        "--per-request",
        type=int,
        metavar="N",
        help="own stack: CPU per request of each kind (N of each), one user",
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="checkouts/s, paced (open loop) instead of levels"
    )
    parser.add_argument("--pool", type=int, default=40, help="users for --rate")
    parser.add_argument(
        "--warm-up",
        type=float,
        metavar="SECONDS",
        help="load first, not counted (default: 10 with --rate, else 0)",
    )
    parser.add_argument(
        "--tuning",
        choices=["up", "embedded"],
        default="up",
        help="idle fallbacks of `agentshop up` (default) or of the test fixtures",
    )
    parser.add_argument("--port-offset", type=int, default=PORT_OFFSET, help="own stack's")
    parser.add_argument("--processes", type=int, help="`agentshop up --processes` (own stack)")
    parser.add_argument("--groups", help="`agentshop up --groups` (own stack)")
    parser.add_argument("--replicas", type=int, help="`agentshop up --replicas` (own stack)")
    parser.add_argument("--keep", action="store_true", help="keep the own stack's data and logs")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="for `agentshop up`"
    )
    return parser


def warm_up_seconds(args: argparse.Namespace) -> float:
    """`--warm-up`, or its default: a paced run starts warm (a fresh stack's first
    seconds fill its pools and caches, and its p99 is a few checkouts), levels do not
    (they run in order from the lightest, as before)."""
    if args.warm_up is not None:
        return float(args.warm_up)
    return 10.0 if args.rate else 0.0


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    if args.rate:
        args.levels = [args.pool]
    if args.url and args.per_request:
        parser.error("--per-request counts its own stack's CPU: leave out --url")
    if args.url:
        if args.first_checkout:
            asyncio.run(first_checkouts(args.url, args.first_checkout, args.rounds))
        else:
            asyncio.run(
                levels_run(
                    args.url,
                    args.levels,
                    args.seconds,
                    rate=args.rate,
                    warm_up=warm_up_seconds(args),
                )
            )
    else:
        with_own_stack(args)


if __name__ == "__main__":
    main()
