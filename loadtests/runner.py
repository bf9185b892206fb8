"""`agentshop load`: start the stack (or use a running one), run a Locust scenario, report.

The load generator always runs in its own process (Locust, headless, bounded users and
time), so it never shares an event loop with the services. The services run either
all in this process (`one-process`, as `agentshop up --processes 1` runs them) or one
process each (`per-service`, as `agentshop serve NAME` runs them). To load the services as
`agentshop up` places them by default (docs/adr/0047), start it and pass `--target` with
its `DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS`. Targets are loopback only.

Steps: prepare the stack, create load-test users in the BFF's database, measure the
floor (Kafka round trip, PostgreSQL commit) on the quiet system, sign the users in
through `POST /v1/auth/token`, run Locust, let in-flight sagas finish, run the
invariant checker, write `report.json`, `report.md` and `chart.png`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy.dialects.postgresql import insert

from commerce.platform.settings import Settings
from loadtests import hops, resends
from loadtests import report as reporting
from loadtests.floor import measure_floor
from shopapi import client as api

log = structlog.get_logger(__name__)

Scenario = Literal["read-heavy", "checkout", "surge"]
ServiceMode = Literal["one-process", "per-service"]
SCENARIO_FILES: dict[str, str] = {
    "read-heavy": "read_heavy.py",
    "checkout": "checkout_flow.py",
    "surge": "surge.py",
}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOAD_PASSWORD = "load-test-pass"
MAX_USERS = 2000
MAX_RUN_SECONDS = 1800
ROOT = Path(__file__).resolve().parent.parent


def load_email(n: int) -> str:
    return f"load-{n:04d}@load.agentshop.test"


@dataclass
class LoadOptions:
    scenario: Scenario
    users: int = 20
    spawn_rate: float = 20.0
    run_seconds: float = 60.0
    target: str | None = None
    services: ServiceMode = "one-process"
    out: Path | None = None
    rate_limit_per_minute: int = 1_000_000
    wait_seconds: float = 0.1
    rate: float | None = None  # tasks started per second by all users (paced); None: closed loop
    decline_share: float = 0.1
    out_of_stock_share: float = 0.05
    surge_factor: float = 10.0
    surge_at: float | None = None  # default: a third into the run
    surge_seconds: float | None = None  # default: a third of the run
    floor_samples: int = 200
    port_offset: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.scenario not in SCENARIO_FILES:
            raise ValueError(
                f"unknown scenario {self.scenario!r}; one of {', '.join(SCENARIO_FILES)}"
            )
        if not 1 <= self.users <= MAX_USERS:
            raise ValueError(f"users must be between 1 and {MAX_USERS}")
        if self.scenario == "surge" and self.users * self.surge_factor > MAX_USERS:
            raise ValueError(f"users x surge factor must not exceed {MAX_USERS}")
        if not 1 <= self.run_seconds <= MAX_RUN_SECONDS:
            raise ValueError(f"run time must be between 1 and {MAX_RUN_SECONDS} seconds")
        if self.rate is not None and not 0 < self.rate <= 100 * self.users:
            raise ValueError("rate must be above 0 and at most 100 tasks/s per user")
        if not 0 < self.spawn_rate <= 1000:
            raise ValueError("spawn rate must be above 0 and at most 1000 users/s")
        if not (0 <= self.decline_share <= 1 and 0 <= self.out_of_stock_share <= 1):
            raise ValueError("shares must be between 0 and 1")
        if self.target is not None:
            host = urlsplit(self.target).hostname
            if host not in LOOPBACK:
                raise ValueError(f"the target must be a loopback address, not {host!r}")

    @property
    def peak_users(self) -> int:
        if self.scenario == "surge":
            return round(self.users * self.surge_factor)
        return self.users

    def phases(self) -> list[reporting.Phase]:
        if self.scenario != "surge":
            return []
        at = self.surge_at if self.surge_at is not None else self.run_seconds / 3
        length = self.surge_seconds if self.surge_seconds is not None else self.run_seconds / 3
        return [
            reporting.Phase("before", 0, at),
            reporting.Phase("during", at, at + length),
            reporting.Phase("after", at + length, self.run_seconds),
        ]


# -- the stack --------------------------------------------------------------------------


class _Processes:
    """Services run one per process with `agentshop serve NAME`."""

    def __init__(self, names: list[str], environment: Mapping[str, str]) -> None:
        self.names = names
        self.environment = environment  # the run's variables (`Infrastructure.environment`)
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, settings: Settings) -> None:
        for name in self.names:
            self.procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "agentshop.cli",
                    "serve",
                    name,
                    "--host",
                    "127.0.0.1",
                    cwd=ROOT,
                    # Idle consumers are woken by relays in their own process only; here
                    # every other service publishes from another process.
                    env={**self.environment, "KAFKA_IDLE_FETCH_INTERVAL_MS": "0"},
                )
            )
        async with httpx.AsyncClient(timeout=2) as http:
            for name in self.names:
                await _wait_ready(http, settings.service_url(name), self.procs)

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()


async def _wait_ready(
    http: httpx.AsyncClient, url: str, procs: list[asyncio.subprocess.Process] | None = None
) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if procs and any(p.returncode is not None for p in procs):
            raise RuntimeError("a service process exited while starting; see its output above")
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get(f"{url}/readyz")).status_code == 200:
                return
        await asyncio.sleep(0.3)
    raise TimeoutError(f"{url} was not ready within 90 s")


async def run(options: LoadOptions) -> reporting.LoadReport:
    """Run one scenario and write its report; returns the report."""
    options.validate()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = options.out or ROOT / "reports" / "load" / f"{stamp}-{options.scenario}"
    out.mkdir(parents=True, exist_ok=True)
    if options.target is not None:
        from commerce.platform.settings import get_settings

        settings = get_settings()
        if settings.embedded_postgres or settings.embedded_kafka:
            raise ValueError(
                "with --target, set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS to the target's "
                "(for load-test users, the floor and the invariant checker)"
            )
        return await _execute(settings, options.target.rstrip("/"), options, out)
    return await _with_own_stack(options, out)


async def _with_own_stack(options: LoadOptions, out: Path) -> reporting.LoadReport:
    from commerce.platform import stack
    from commerce.platform.logging import configure_logging

    data = Path(tempfile.mkdtemp(prefix="agentshop-load-"))
    environment = {
        **os.environ,
        "AGENTSHOP_DATA_DIR": str(data),
        "AGENTSHOP_RATE_LIMIT_PER_MINUTE": str(options.rate_limit_per_minute),
        "AGENTSHOP_LOG_LEVEL": os.environ.get("AGENTSHOP_LOG_LEVEL", "WARNING"),
        **({"AGENTSHOP_PORT_OFFSET": str(options.port_offset)} if options.port_offset is not None else {}),
        **options.extra,
    }  # fmt: skip
    try:
        configured = Settings.from_env(environment)
        configure_logging(configured.log_level, configured.log_format)
        with stack.infrastructure(environment) as infra:
            settings = infra.settings
            await stack.prepare(settings)
            names = stack.service_names()
            if options.services == "per-service":
                processes = _Processes(names, infra.environment)
                await processes.start(settings)
                stop = processes.stop
            else:
                running = await stack.start_services(settings, names)
                stop = running.stop
            try:
                async with httpx.AsyncClient(timeout=2) as http:
                    await _wait_ready(http, settings.service_url("gateway-bff"))
                return await _execute(settings, settings.service_url("gateway-bff"), options, out)
            finally:
                await stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)


# -- one run ----------------------------------------------------------------------------


async def seed_load_users(settings: Settings, count: int) -> None:
    """Create `count` load-test users in the BFF's database (idempotent; never in prod)."""
    from bff.auth import hasher
    from bff.tables import users
    from commerce.platform.db import Database
    from commerce.services import SERVICES

    if settings.env == "prod":
        raise ValueError("load-test users are not created when AGENTSHOP_ENV=prod")
    spec = SERVICES["gateway-bff"]
    db = Database(settings.service_database_url(spec.env_prefix, spec.database), pool_size=1)
    password_hash = await asyncio.to_thread(hasher.hash, LOAD_PASSWORD)  # one hash for all
    rows = [
        {"user_id": f"load_{n:04d}", "email": load_email(n), "name": f"Load Tester {n}",
         "phone": f"+1555{n:07d}", "password_hash": password_hash}
        for n in range(count)
    ]  # fmt: skip
    try:
        async with db.transaction() as session:
            await session.execute(insert(users).values(rows).on_conflict_do_nothing())
    finally:
        await db.dispose()


async def sign_in(bff_url: str, count: int) -> list[str]:
    """Each load-test user signs in through the BFF, as a person would."""
    gate = asyncio.Semaphore(4)

    async def one(shop: api.AsyncClient, n: int) -> str:
        async with gate:
            return (await shop.send(api.sign_in(load_email(n), LOAD_PASSWORD))).access_token

    async with api.AsyncClient(bff_url, timeout=30) as shop:
        return list(await asyncio.gather(*(one(shop, n) for n in range(count))))


async def _settle(settings: Settings, within: float = 90.0) -> None:
    """Wait until no saga is in flight (deadlines and compensations run their course)."""
    from commerce.checkout.invariants import check_invariants

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await check_invariants(settings)).in_flight == 0:
            return
        await asyncio.sleep(1.0)
    log.warning("load.sagas_still_in_flight", after_seconds=within)


def _locust_command(options: LoadOptions, bff_url: str) -> list[str]:
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "loadtests" / SCENARIO_FILES[options.scenario]),
        "--headless", "--host", bff_url, "--only-summary", "--stop-timeout", "20",
        "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    if options.scenario != "surge":  # the surge's shape sets users and time itself
        command += ["-u", str(options.users), "-r", str(options.spawn_rate)]
        command += ["-t", f"{round(options.run_seconds)}s"]
    return command


async def _execute(
    settings: Settings, bff_url: str, options: LoadOptions, out: Path
) -> reporting.LoadReport:
    from commerce.checkout.invariants import check_invariants

    pool = options.peak_users
    await seed_load_users(settings, pool)
    floor = await measure_floor(settings, options.floor_samples)
    log.info("load.floor", **floor.as_dict())
    tokens = await sign_in(bff_url, pool)
    requests_log = out / "requests.csv"
    requests_log.unlink(missing_ok=True)
    phases = options.phases()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(tokens, f)
        tokens_file = Path(f.name)
    env = {
        **settings.environment,  # the run's variables (this process's with --target)
        "PYTHONPATH": str(ROOT),
        "AGENTSHOP_LOAD_LOG": str(requests_log),
        "AGENTSHOP_LOAD_TOKENS": str(tokens_file),
        "AGENTSHOP_LOAD_WAIT_SECONDS": str(options.wait_seconds),
        "AGENTSHOP_LOAD_RATE_PER_USER": str(options.rate / options.users if options.rate else 0),
        "AGENTSHOP_LOAD_DECLINE_SHARE": str(options.decline_share),
        "AGENTSHOP_LOAD_OUT_OF_STOCK_SHARE": str(options.out_of_stock_share),
        "AGENTSHOP_LOAD_USERS": str(options.users),
        "AGENTSHOP_LOAD_RUN_SECONDS": str(options.run_seconds),
        "AGENTSHOP_LOAD_SURGE_FACTOR": str(options.surge_factor),
    }
    if phases:
        env["AGENTSHOP_LOAD_SURGE_AT"] = str(phases[1].start)
        env["AGENTSHOP_LOAD_SURGE_SECONDS"] = str(phases[1].end - phases[1].start)
    try:
        locust = await asyncio.create_subprocess_exec(
            *_locust_command(options, bff_url), cwd=ROOT, env=env
        )
        try:
            await asyncio.wait_for(locust.wait(), options.run_seconds + 120)
        except TimeoutError:
            locust.kill()
            raise
    finally:
        await asyncio.to_thread(tokens_file.unlink, missing_ok=True)
    await _settle(settings)
    invariants = await check_invariants(settings)
    resent = await resends.resend_stats(settings)
    log.info("load.resends", **resent)
    if options.scenario != "read-heavy":
        try:
            hop_times = await hops.breakdown(settings)
        except Exception as exc:  # the breakdown is a diagnostic; the run stands without it
            log.warning("load.hops_failed", error=str(exc))
        else:
            (out / "hops.json").write_text(json.dumps(hop_times, indent=2))
            (out / "hops.md").write_text(hops.table(hop_times) + "\n")
    run_settings = {
        "users": options.users, "peak_users": pool, "spawn_rate": options.spawn_rate,
        "run_seconds": options.run_seconds,
        "services": options.services if options.target is None else "target",
        "wait_seconds": options.wait_seconds, "rate": options.rate, "decline_share": options.decline_share,
        "out_of_stock_share": options.out_of_stock_share, "cpus": os.cpu_count(),
    }  # fmt: skip
    report = reporting.analyse(
        reporting.read_log(requests_log),
        scenario=options.scenario,
        settings=run_settings,
        floor=floor.as_dict(),
        invariants={**asdict(invariants), "ok": invariants.ok, "summary": invariants.summary()},
        phases=phases,
    )
    reporting.write(report, out, phases)
    (out / "resends.json").write_text(json.dumps(resent, indent=2))
    with (out / "report.md").open("a") as md:
        md.write("\n" + resends.line(resent) + "\n")
    log.info("load.report_written", path=str(out))
    return report
