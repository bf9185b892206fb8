"""`agentshop chaos`: faults during paced checkout load, then: was anything accepted lost?

The one-command stack (`agentshop up`: embedded PostgreSQL and broker, every service in one
process) runs as a child process on loopback, with its data in a temporary folder. Shoppers
(load-test users) start checkouts through the BFF at a steady pace, as a client would:
an Idempotency-Key per checkout, retried with the same key while the answer is an error or
no answer at all. During the load each fault is injected once:

- `stack`: kill -9 of the whole stack process (its PostgreSQL and broker go down with it),
  then `agentshop up` again on the same data: PostgreSQL comes back with its data, the
  broker empty;
- `broker`: kill -9 of the embedded broker alone (the stack restarts it, empty);
- `postgres`: PostgreSQL stopped without a checkpoint (immediate shutdown, as a crash;
  the stack restarts it and it recovers from its log);
- `service`: kill -9 of one process of services, chosen at random, when the stack runs its
  services over several processes (`groups`, `agentshop up --groups`; `up` starts it again).

The faults come in a random order (`seed` makes the order and the moments repeatable).

After each fault the load goes on for a while, stops, and then, within bounds: every accepted
checkout must reach a terminal state (`stuck` counts those that did not; `lost` those whose
saga never appeared), every completed checkout's confirmations and refund record must arrive
(`lost notifications`, `lost refund records`), and `check-invariants` must hold
(`violations`). See docs/adr/0020.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog
from sqlalchemy import select

from commerce.contracts.values import FINAL_STATES
from commerce.platform import runfile
from commerce.platform.db import Database
from commerce.platform.settings import Settings
from commerce.platform.stack import EMBEDDED_BROKER_TUNING, QUIET_WHEN_IDLE
from commerce.services import SERVICES
from shopapi import client as api

log = structlog.get_logger(__name__)

FAULTS = ("stack", "broker", "postgres", "service")
PER_SERVICE = "per-service"  # `groups`: every service in its own process
HOME = {
    "name": "Chaos Tester", "line1": "1 Main St", "city": "Portland", "region": "OR",
    "postal_code": "97201", "country": "US",
}  # fmt: skip
CHAOS_ENV = {
    # short grace periods, so that what was lost is found and sent again within the run
    "CHECKOUT_ORCHESTRATOR_FOLLOW_UP_SECONDS": "3",
    "GATEWAY_BFF_CHECKOUT_CONFIRM_SECONDS": "5",
    "GATEWAY_BFF_IDEMPOTENCY_LEASE_SECONDS": "10",
    "AGENTSHOP_RATE_LIMIT_PER_MINUTE": "1000000",
    "AGENTSHOP_LOG_LEVEL": "WARNING",
}

TIMINGS = (*EMBEDDED_BROKER_TUNING, *QUIET_WHEN_IDLE)


@dataclass
class ChaosOptions:
    faults: tuple[str, ...] = ()  # empty: every fault that applies (`service` needs groups)
    rate: float = 2.0  # checkouts started per second
    users: int = 24
    before_seconds: float = 8.0  # load before the fault
    after_seconds: float = 8.0  # load after the fault (and the restart)
    settle_seconds: float = 120.0  # bound for every accepted checkout to be terminal
    port_offset: int = 24000
    seed: int | None = None  # for the random moment of each fault within its window
    env: dict[str, str] = field(default_factory=dict)  # more settings for the stack
    keep: bool = False  # keep the data folder (the stack's log and databases) afterwards
    # where the services run: "" (all in `up`'s process), PER_SERVICE, or a placement for
    # `agentshop up --groups` ("a,b;c;d": the first group in `up`'s process)
    groups: str = ""

    def chosen(self) -> list[str]:
        """The faults to inject, in a random order."""
        several = bool(self.groups) and (self.groups == PER_SERVICE or ";" in self.groups)
        faults = list(self.faults or [f for f in FAULTS if f != "service" or several])
        random.shuffle(faults)
        return faults

    def validate(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {', '.join(FAULTS)}")
        if "service" in self.faults and not (
            self.groups == PER_SERVICE or ";" in self.groups
        ):  # fmt: skip
            raise ValueError("the service fault needs the services over several processes")
        if not 0 < self.rate <= 20 or not 1 <= self.users <= 200:
            raise ValueError("rate must be in (0, 20] checkouts/s and users in [1, 200]")
        if not 1 <= self.before_seconds + self.after_seconds <= 600:
            raise ValueError("the load around a fault must last 1 to 600 seconds")


@dataclass
class Row:
    fault: str
    target: str = ""  # what the fault killed, when it chose (the services of a process)
    checkouts: int = 0  # accepted (202)
    completed: int = 0
    failed: int = 0
    lost: int = 0  # accepted, and no saga ever appeared
    stuck: int = 0  # accepted, and not terminal within the bound
    lost_notifications: int = 0
    lost_refund_records: int = 0
    violations: int = 0
    refused: int = 0  # never accepted within the client's patience (the client knows)
    signalled: int = 0  # processes the fault killed (0: the fault did not happen)
    seconds_to_terminal: float = 0.0
    details: list[str] = field(default_factory=list)


class Stack:
    """`agentshop up` as a child process, on a data folder that outlives it."""

    def __init__(
        self, data: Path, port_offset: int, env: dict[str, str] | None = None, groups: str = ""
    ) -> None:
        self.data = data
        self.port_offset = port_offset
        self.env = env or {}
        self.groups = groups
        self.proc: asyncio.subprocess.Process | None = None
        self.bff = f"http://127.0.0.1:{SERVICES['gateway-bff'].port + port_offset}"

    async def start(self) -> None:
        env = {
            **os.environ, **CHAOS_ENV, **self.env, "AGENTSHOP_DATA_DIR": str(self.data),
            "AGENTSHOP_PORT_OFFSET": str(self.port_offset),
        }  # fmt: skip
        # the one-command stack as a person starts it: no server of ours, and none of the
        # timings a calling process (e.g. the test session's own stack) may have exported
        for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", *TIMINGS):
            if name not in {**CHAOS_ENV, **self.env}:
                env.pop(name, None)
        seed = "--no-seed" if (self.data / "seeded").exists() else "--seed"
        placement = ["--groups", self.placement()] if self.groups else []
        log_file = (self.data / "stack.log").open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentshop.cli", "up", "--no-ui", seed, *placement,
            env=env, stdout=log_file, stderr=log_file, start_new_session=True,
        )  # fmt: skip
        log_file.close()
        await self.wait_ready()
        (self.data / "seeded").touch()

    def placement(self) -> str:
        if self.groups != PER_SERVICE:
            return self.groups
        return ";".join(SERVICES)  # gateway-bff in `up`'s process, every other in its own

    async def wait_ready(self, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.returncode is not None:
                    raise RuntimeError(f"the stack exited; see {self.data / 'stack.log'}")
                with contextlib.suppress(httpx.HTTPError):
                    # every process of the stack ready: `up` writes its run file only then
                    info = runfile.read(self.data)
                    ready = info is not None and self.proc is not None and info.pid == self.proc.pid
                    if ready and (await http.get(f"{self.bff}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.3)
        raise TimeoutError("the stack was not ready in time")

    def children(self, marker: str) -> list[int]:
        """Pids of the stack's child processes whose command line contains `marker`."""
        if self.proc is None:
            return []
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and marker in cmdline:
                found.append(int(entry.name))
        return found

    def service_processes(self) -> dict[int, str]:
        """The stack's child processes of services (`agentshop.group`): pid → their names."""
        found = {}
        for pid in self.children("agentshop.group"):
            with contextlib.suppress(OSError, IndexError, ValueError):  # exited meanwhile
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                found[pid] = argv[argv.index(b"agentshop.group") + 1].decode()
        return found

    def database_url(self) -> str:
        pid_file = self.data / "postgres" / "pgdata" / "postmaster.pid"
        port = int(pid_file.read_text().splitlines()[3])
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    async def kill(self) -> None:
        """kill -9 of the whole stack: the services' process, PostgreSQL and the broker."""
        assert self.proc is not None
        servers = self.children("broker") + self.children("pgdata")
        for pid in [self.proc.pid, *servers]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await self.proc.wait()
        deadline = time.monotonic() + 30  # PostgreSQL's backends see their postmaster gone
        await _until(lambda: not _alive(servers), deadline)
        await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


async def _until(condition: Callable[[], bool], deadline: float) -> None:
    """Wait (bounded) until `condition()` holds."""
    while not condition() and time.monotonic() < deadline:  # noqa: ASYNC110 (a process state)
        await asyncio.sleep(0.2)


def _alive(pids: list[int]) -> bool:
    alive = False
    for pid in pids:
        with contextlib.suppress(ChildProcessError, ProcessLookupError):
            os.kill(pid, 0)
            alive = True
    return alive


class Shoppers:
    """Checkouts at a steady pace through the BFF, retried as a client would."""

    def __init__(self, bff: str, tokens: list[str], skus: list[str], rate: float) -> None:
        self.bff = bff
        self.free = list(tokens)
        self.skus = skus
        self.rate = rate
        self.accepted: list[uuid.UUID] = []
        self.refused = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await asyncio.sleep(random.expovariate(self.rate))  # Poisson arrivals
            if not self.free:
                continue  # every shopper busy: this arrival is not offered
            token = self.free.pop()
            task = asyncio.create_task(self._one(token))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=120)

    async def _one(self, token: str) -> None:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + 90  # the client's patience across a fault
        try:
            async with api.AsyncClient(self.bff, token, timeout=10) as shop:
                while time.monotonic() < deadline:
                    with contextlib.suppress(httpx.HTTPError, api.ShopError, ValueError):
                        with contextlib.suppress(api.ShopError):
                            for line in (await shop.send(api.cart())).lines:
                                with contextlib.suppress(api.ShopError):
                                    await shop.send(api.remove_line(line.sku))
                        with contextlib.suppress(api.ShopError):
                            await shop.send(api.add_line(random.choice(self.skus), 1))
                        quote = await shop.send(api.quote_cart(HOME))
                        try:
                            started = await shop.send(
                                api.start_checkout(
                                    HOME, "tok_visa", quote.totals.total_cents, idempotency_key=key
                                )
                            )
                        except api.ShopError as exc:
                            if exc.status in (409, 422) and exc.code in (
                                "price_changed", "cart_empty", "idempotency_key_reused",
                            ):  # fmt: skip
                                key = str(uuid.uuid4())  # a new request: the cart changed
                        else:
                            self.accepted.append(started.checkout_id)
                            return
                    await asyncio.sleep(1.0)
                self.refused += 1
        finally:
            self.free.append(token)


async def _sign_in(bff: str, count: int) -> list[str]:
    from loadtests.runner import LOAD_PASSWORD, load_email

    async with api.AsyncClient(bff, timeout=30) as shop:
        return [
            (await shop.send(api.sign_in(load_email(n), LOAD_PASSWORD))).access_token
            for n in range(count)
        ]


def _settings(stack: Stack) -> Settings:
    return Settings(DATABASE_URL=stack.database_url(), KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")


async def _terminal(settings: Settings, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    from commerce.checkout.tables import sagas

    spec = SERVICES["checkout-orchestrator"]
    db = Database(settings.service_database_url(spec.env_prefix, spec.database), pool_size=1)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(sagas.c.checkout_id, sagas.c.state).where(sagas.c.checkout_id.in_(ids))
            )
            return {row.checkout_id: row.state for row in rows}
    finally:
        await db.dispose()


async def _inject(fault: str, stack: Stack, row: Row) -> int:
    """Inject `fault`; returns how many processes it killed."""
    if fault == "stack":
        killed = 1 + len(stack.children("broker")) + len(stack.children("pgdata"))
        await stack.kill()
        await stack.start()
    elif fault == "service":
        pid, row.target = random.choice(sorted(stack.service_processes().items()))
        os.kill(pid, signal.SIGKILL)  # `up` starts it again
        killed = 1
    else:
        pids = stack.children("broker" if fault == "broker" else "pgdata")
        # the broker: kill -9; PostgreSQL: immediate shutdown (no checkpoint, recovery on start)
        for pid in pids:
            os.kill(pid, signal.SIGKILL if fault == "broker" else signal.SIGQUIT)
        killed = len(pids)
    log.warning("chaos.fault", fault=fault, killed=killed)
    return killed


async def _one_fault(fault: str, stack: Stack, options: ChaosOptions, tokens: list[str]) -> Row:
    from commerce.catalog.data import catalog_skus
    from commerce.checkout.invariants import check_invariants

    skus = [s.sku for s in catalog_skus() if s.initial_stock >= 50]
    shoppers = Shoppers(stack.bff, tokens, skus, options.rate)
    load = asyncio.create_task(shoppers.run(options.before_seconds + options.after_seconds))
    await asyncio.sleep(random.uniform(0.5, 1.0) * options.before_seconds)
    row = Row(fault)
    row.signalled = await _inject(fault, stack, row)
    await load
    await shoppers.drain()
    row.checkouts, row.refused = len(shoppers.accepted), shoppers.refused
    ids = list(shoppers.accepted)
    started = time.monotonic()
    deadline = started + options.settle_seconds
    states: dict[uuid.UUID, str] = {}
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # PostgreSQL may still be recovering
            states = await _terminal(_settings(stack), ids)
            if all(states.get(i) in FINAL_STATES for i in ids):
                break
        await asyncio.sleep(1.0)
    row.seconds_to_terminal = round(time.monotonic() - started, 1)
    row.lost = sum(1 for i in ids if i not in states)
    row.stuck = sum(1 for i in ids if states.get(i) not in FINAL_STATES)
    waiting = Counter(states[i] for i in ids if i in states and states[i] not in FINAL_STATES)
    if waiting:  # where the stuck ones stand, for whoever reads the table
        row.details.append(
            "stuck in: " + ", ".join(f"{n} {state}" for state, n in waiting.most_common())
        )
    row.completed = sum(1 for i in ids if states.get(i) == "completed")
    row.failed = sum(1 for i in ids if states.get(i) == "failed")
    # confirmations and refund records: the orchestrator's follow-up sends lost ones again
    report = None
    follow_deadline = time.monotonic() + 90
    while time.monotonic() < follow_deadline:
        report = await check_invariants(_settings(stack), ids, settle_seconds=0)
        if report.ok:
            break
        await asyncio.sleep(2.0)
    assert report is not None
    row.lost_notifications = report.lost_notifications
    row.lost_refund_records = report.lost_refund_records
    row.violations = len(report.violations) - report.lost_notifications - report.lost_refund_records
    row.details += report.violations[:10]
    return row


async def run(options: ChaosOptions) -> list[Row]:
    """Start the stack, run each fault under load, and return one row per fault."""
    from loadtests.runner import seed_load_users

    options.validate()
    if options.seed is not None:
        random.seed(options.seed)
    data = Path(tempfile.mkdtemp(prefix="agentshop-chaos-"))
    stack = Stack(data, options.port_offset, options.env, options.groups)
    rows: list[Row] = []
    try:
        await stack.start()
        await seed_load_users(_settings(stack), options.users)
        tokens = await _sign_in(stack.bff, options.users)
        for fault in options.chosen():
            rows.append(await _one_fault(fault, stack, options, tokens))
            log.warning("chaos.row", **{k: v for k, v in vars(rows[-1]).items() if k != "details"})
            await stack.wait_ready()
    finally:
        await stack.stop()
        if (
            options.keep or not rows or not ok(rows)
        ):  # the stack's log and databases, to find out why
            log.warning("chaos.data_kept", path=str(data))
        else:
            shutil.rmtree(data, ignore_errors=True)
    return rows


def table(rows: list[Row]) -> str:
    head = (
        "| fault | processes killed | checkouts | completed / failed | lost | stuck "
        "| lost notifications | lost refund records | violations | refused | all terminal after |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [
        f"| {r.fault}{f' ({r.target})' if r.target else ''} | {r.signalled} | {r.checkouts} | {r.completed} / {r.failed} | {r.lost} | "
        f"{r.stuck} | "
        f"{r.lost_notifications} | {r.lost_refund_records} | {r.violations} | {r.refused} | "
        f"{r.seconds_to_terminal} s |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def ok(rows: list[Row]) -> bool:
    return all(
        r.signalled > 0
        and r.lost == r.stuck == r.lost_notifications == r.lost_refund_records == r.violations == 0
        for r in rows
    )


def faults_from(text: str) -> tuple[str, ...]:
    """The faults named in `text` (empty: every fault that applies)."""
    return tuple(f.strip() for f in text.split(",") if f.strip())
