"""`agentshop load`: the load tests' own command, registered by the `agentshop` package.

Only `typer` is imported here; the runner is imported when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def load(
    scenario: Annotated[
        str, typer.Argument(help="read-heavy, checkout or surge (see loadtests/)")
    ] = "checkout",
    users: Annotated[int, typer.Option(help="Locust users (the surge's base load)")] = 20,
    spawn_rate: Annotated[float, typer.Option(help="Users started per second")] = 20.0,
    run_time: Annotated[float, typer.Option(help="Seconds of load")] = 60.0,
    target: Annotated[
        str | None,
        typer.Option(
            help="A running BFF on loopback (needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS); "
            "default: start an embedded stack"
        ),
    ] = None,
    services: Annotated[
        str,
        typer.Option(
            help="one-process (as `agentshop up --processes 1`) or per-service (`serve` each)"
        ),
    ] = "one-process",
    wait: Annotated[float, typer.Option(help="Longest pause between a user's actions, s")] = 0.1,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Paced load: tasks started per second by all users together (a search, a "
            "product page... in read-heavy; a whole checkout in checkout; the base in surge), "
            "whatever the latency; default: closed loop with --wait"
        ),
    ] = None,
    decline_share: Annotated[float, typer.Option(help="Checkouts paying with tok_declined")] = 0.1,
    out_of_stock_share: Annotated[
        float, typer.Option(help="Checkouts asking for more than is on hand")
    ] = 0.05,
    surge_factor: Annotated[float, typer.Option(help="The surge's step (x base users)")] = 10.0,
    rate_limit: Annotated[
        int, typer.Option(help="BFF requests per user per minute in the embedded stack")
    ] = 1_000_000,
    port_offset: Annotated[
        int | None, typer.Option(help="Added to every service's port [env AGENTSHOP_PORT_OFFSET]")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: reports/load/<time>-<scenario>)")
    ] = None,
) -> None:
    """Run a bounded Locust scenario through the BFF and report latency, throughput, the
    checkout's end-to-end latency against the measured floor, SLOs and invariants."""
    from commerce.commands import needs_tools

    needs_tools("locust", "matplotlib")
    from rich.console import Console

    from commerce.platform import stack
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings
    from loadtests.report import markdown
    from loadtests.runner import LoadOptions, run

    errors = Console(stderr=True)
    configure_logging(get_settings().log_level, get_settings().log_format)
    options = LoadOptions(
        scenario=scenario,  # type: ignore[arg-type]  # checked by validate()
        users=users, spawn_rate=spawn_rate, run_seconds=run_time, target=target,
        services=services,  # type: ignore[arg-type]
        wait_seconds=wait, rate=rate, decline_share=decline_share, out_of_stock_share=out_of_stock_share,
        surge_factor=surge_factor, rate_limit_per_minute=rate_limit, port_offset=port_offset, out=out,
    )  # fmt: skip
    if services not in ("one-process", "per-service"):
        errors.print("[red]--services must be one-process or per-service[/red]")
        raise typer.Exit(2)
    try:
        options.validate()
    except ValueError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        report = stack.run_loop(run(options))
    except ValueError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    Console().print(markdown(report))
    failed = report.errors + report.checkouts["errors"] or not (report.invariants or {}).get("ok")
    if failed:
        raise typer.Exit(1)


def chaos(
    faults: Annotated[
        str, typer.Option(help="Comma-separated: stack, broker, postgres, service (default all)")
    ] = "",
    rate: Annotated[float, typer.Option(help="Checkouts started per second")] = 2.0,
    seconds: Annotated[
        float, typer.Option(help="Seconds of load before and after each fault")
    ] = 10.0,
    port_offset: Annotated[int, typer.Option(help="Added to every service's port")] = 24000,
    per_service: Annotated[
        bool, typer.Option(help="Every service in its own process (adds the service fault)")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Repeat a run's fault order and moments")] = None,
) -> None:
    """kill -9 the stack, the broker or one service's process, crash PostgreSQL, in a random
    order during paced checkouts (loopback, its own embedded stack); print what was lost or
    stuck; exit 1 on any loss."""
    import asyncio

    from loadtests import chaos as run

    options = run.ChaosOptions(
        run.faults_from(faults),
        rate,
        before_seconds=seconds,
        after_seconds=seconds,
        port_offset=port_offset,
        seed=seed,
        groups=run.PER_SERVICE if per_service else "",
    )
    try:
        options.validate()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    rows = asyncio.run(run.run(options))
    typer.echo(run.table(rows))
    if not run.ok(rows):
        raise typer.Exit(1)
