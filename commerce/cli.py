"""The `agentshop` command: run the system, prepare databases and topics, inspect dead letters."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from commerce.platform import stack
from commerce.platform.logging import configure_logging
from commerce.platform.settings import Settings, get_settings
from commerce.services import SERVICES, UI_PORT
from ui.process import HEALTH_PATH, UiProcess

app = typer.Typer(
    help="agentshop: an agentic shopping assistant on an event-driven commerce backend.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
dlq_app = typer.Typer(help="Dead-lettered messages: list and replay.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console(stderr=True)

ServicesOpt = Annotated[
    list[str] | None,
    typer.Argument(help="Service names (default: all). See `agentshop services`."),
]


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def _names(names: list[str] | None) -> list[str]:
    """The chosen services (all when none are named); an unknown name is a clear error."""
    try:
        return stack.service_names(names or None)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None


def _needs_infra(settings: Settings) -> None:
    if settings.embedded_postgres or settings.embedded_kafka:
        console.print(
            "[red]DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS must be set for this command.[/red] "
            "`agentshop up` starts an embedded PostgreSQL and broker instead."
        )
        raise typer.Exit(2)


@app.command()
def chat(
    url: Annotated[
        str | None, typer.Option(help="The BFF's base URL (default: this machine's gateway-bff)")
    ] = None,
    email: Annotated[str, typer.Option(help="Who to sign in as")] = "alice@example.com",
    password: Annotated[str, typer.Option(help="Their password")] = "alice-demo-pass",
) -> None:
    """Chat with the shopping assistant through a running BFF; approve orders with y/n."""
    from assistant.terminal import run_chat

    base = url or get_settings().service_url("gateway-bff")
    raise typer.Exit(run_chat(base.rstrip("/"), email, password))


@app.command()
def mcp(
    url: Annotated[
        str | None, typer.Option(help="The BFF's base URL (default: this machine's)")
    ] = None,
    email: Annotated[
        str, typer.Option(envvar="AGENTSHOP_MCP_EMAIL", help="Who the agent acts for")
    ] = "alice@example.com",
    password: Annotated[
        str, typer.Option(envvar="AGENTSHOP_MCP_PASSWORD", help="Their password")
    ] = "alice-demo-pass",
    transport: Annotated[
        str, typer.Option(help="stdio or http (streamable HTTP at /mcp)")
    ] = "stdio",
    host: Annotated[str, typer.Option(help="http: address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="http: port")] = 8765,
) -> None:
    """Serve the shop over the Model Context Protocol for one signed-in person."""
    from bff.mcp_server import run

    run(url or get_settings().service_url("gateway-bff"), email, password, transport, host, port)


@app.command("acp-agent")
def acp_agent(
    agent_id: Annotated[str, typer.Argument(help="A name for the agent client")],
    user: Annotated[str, typer.Option(help="The user id it buys for, e.g. user_123")],
    webhook: Annotated[str | None, typer.Option(help="Its order webhook endpoint")] = None,
) -> None:
    """Register (or re-key) an Agentic Commerce Protocol agent client; prints its keys once."""
    from dataclasses import asdict

    from bff.acp_agents import register_command

    _needs_infra_db(_settings())
    Console().print_json(data=asdict(register_command(agent_id, user, webhook)))


@app.command()
def services() -> None:
    """List the services, their ports and databases."""
    table = Table("service", "port", "database", "what it does")
    for spec in SERVICES.values():
        table.add_row(spec.name, str(spec.port), spec.database, spec.description)
    table.add_row("ui", str(UI_PORT), "—", "the web UI (Streamlit), talks to gateway-bff only")
    Console().print(table)


@app.command()
def up(
    names: ServicesOpt = None,
    host: Annotated[str, typer.Option(help="Address the HTTP servers bind to")] = "127.0.0.1",
    port_offset: Annotated[
        int | None, typer.Option(help="Added to every service's port [env AGENTSHOP_PORT_OFFSET]")
    ] = None,
    seed: Annotated[bool, typer.Option(help="Load demo data")] = True,
    ui: Annotated[bool, typer.Option(help="Run the web UI (Streamlit) too")] = True,
) -> None:
    """Start everything: embedded PostgreSQL and broker (unless configured), all services, the UI."""
    if port_offset is not None:
        os.environ["AGENTSHOP_PORT_OFFSET"] = str(port_offset)
        get_settings.cache_clear()
    settings = _settings()
    stack.data_dir(settings)
    chosen = _names(names)

    async def main(infra: stack.Infrastructure) -> None:
        with console.status("preparing databases") as status:
            fresh = get_settings()
            status.update("migrating service databases")
            await stack.migrate(fresh, chosen)
            status.update("creating topics")
            await stack.create_topics(fresh)
            if seed:
                status.update("loading demo data")
                await stack.seed(fresh, chosen)
            status.update("starting services")
            web = UiProcess(fresh, host=host) if ui else None
            if web is not None:
                web.start()
            try:
                running = await stack.start_services(fresh, chosen, host=host)
            except BaseException:
                if web is not None:
                    web.stop()
                raise
            if web is not None:
                status.update("starting the web UI")
                if not await asyncio.to_thread(web.wait_ready):
                    console.print(
                        "[yellow]the web UI did not answer yet; it keeps starting[/yellow]"
                    )
        _print_running(fresh, chosen, host, fresh.port_offset, web)
        supervisors = [asyncio.create_task(infra.supervise(fresh))]
        if web is not None:
            supervisors.append(asyncio.create_task(web.supervise()))
        try:
            await stack.wait_for_signal()
        finally:
            for task in supervisors:
                task.cancel()
            console.print("stopping services…")
            if web is not None:
                await asyncio.to_thread(web.stop)
            await running.stop()

    with stack.infrastructure(settings, on_step=lambda s: console.print(f"• {s}")) as infra:
        stack.run_loop(main(infra))
    console.print("stopped.")


def _print_running(
    settings: Settings, names: list[str], host: str, offset: int, web: UiProcess | None = None
) -> None:
    table = Table("service", "url", "ready", title="agentshop is running")
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    for name in names:
        port = SERVICES[name].port + offset
        table.add_row(name, f"http://{shown}:{port}", f"http://{shown}:{port}/readyz")
    if web is not None:
        table.add_row("web UI", web.url, f"{web.url}{HEALTH_PATH}")
    console.print(table)
    if web is not None:
        console.print(f"Open {web.url} in a browser to shop with the assistant.")
    console.print(f"PostgreSQL: {_redact(os.environ.get('DATABASE_URL', ''))}")
    console.print(f"Kafka: {settings.kafka_bootstrap_servers}")
    if settings.service_token is not None and settings.env != "prod":
        console.print(  # a dev run's own token, so a developer can call an internal API
            "Internal APIs (all but gateway-bff) need the header "
            f"X-Service-Token: {settings.service_token.get_secret_value()}"
        )
    console.print("Press Ctrl-C to stop.")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True) if url else "(none)"


@app.command()
def serve(
    name: Annotated[str, typer.Argument(help="The service to run")],
    host: Annotated[
        str, typer.Option(help="Address to bind: loopback unless told (0.0.0.0 in a container)")
    ] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Default: the service's own port")] = None,
) -> None:
    """Run one service in this process (uses DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS).

    `serve ui` runs the web UI instead (it needs only the BFF: GATEWAY_BFF_URL)."""
    if name == "ui":  # no database or broker: only the BFF (GATEWAY_BFF_URL)
        from ui.process import command, environment, ui_port

        argv = command(host, port or ui_port())
        os.execve(argv[0], argv, environment())  # signals go straight to Streamlit
    settings = _settings()
    _needs_infra(settings)
    if name not in SERVICES:
        known = ", ".join([*SERVICES, "ui"])
        console.print(f"[red]unknown service {name!r}[/red]; known: {known}")
        raise typer.Exit(2)

    async def main() -> None:
        running = await stack.start_services(settings, [name], host=host, port=port)
        try:
            await stack.wait_for_signal()
        finally:
            await running.stop()

    stack.run_loop(main())


@app.command()
def migrate(names: ServicesOpt = None) -> None:
    """Create missing service databases and upgrade them to the latest schema (idempotent)."""
    settings = _settings()
    _needs_infra_db(settings)
    done = asyncio.run(stack.migrate(settings, _names(names)))
    console.print(f"migrated: {', '.join(done)}")


def _needs_infra_db(settings: Settings) -> None:
    if settings.embedded_postgres:
        console.print("[red]DATABASE_URL must be set for this command.[/red]")
        raise typer.Exit(2)


@app.command()
def seed(names: ServicesOpt = None) -> None:
    """Load demo data (idempotent)."""
    settings = _settings()
    _needs_infra_db(settings)
    done = asyncio.run(stack.seed(settings, _names(names)))
    console.print(f"seeded: {', '.join(done) or 'nothing to seed'}")


@app.command()
def topics() -> None:
    """Create the Kafka topics (and their dead-letter topics) that do not exist yet."""
    settings = _settings()
    if settings.embedded_kafka:
        console.print("[red]KAFKA_BOOTSTRAP_SERVERS must be set for this command.[/red]")
        raise typer.Exit(2)
    created = asyncio.run(stack.create_topics(settings))
    console.print(f"created: {', '.join(created) or 'all topics existed'}")


@app.command()
def contracts(
    check: Annotated[bool, typer.Option(help="Fail if the committed files are stale")] = False,
) -> None:
    """Regenerate docs/asyncapi.yaml and docs/schemas/ from the message models."""
    import tempfile

    from commerce.contracts import asyncapi

    services = [stack.load_service(name) for name in SERVICES]
    if check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp)
            asyncapi.write(services, fresh)
            stale = [
                str(p.relative_to(fresh))
                for p in fresh.rglob("*")
                if p.is_file()
                and (
                    not (asyncapi.DOCS / p.relative_to(fresh)).exists()
                    or (asyncapi.DOCS / p.relative_to(fresh)).read_text() != p.read_text()
                )
            ]
        if stale:
            console.print(f"[red]stale:[/red] {', '.join(stale)}; run `agentshop contracts`")
            raise typer.Exit(1)
        console.print("contracts are up to date")
        return
    changed = asyncapi.write(services)
    console.print(f"updated {len(changed)} file(s)")


@app.command("check-invariants")
def check_invariants_command() -> None:
    """Check that payments, orders, stock and sagas agree; exit 1 on any violation."""
    from commerce.checkout.invariants import check_invariants

    settings = _settings()
    _needs_infra_db(settings)
    report = asyncio.run(check_invariants(settings))
    Console().print(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def chaos(
    faults: Annotated[str, typer.Option(help="Comma-separated: stack, broker, postgres")] = "",
    rate: Annotated[float, typer.Option(help="Checkouts started per second")] = 2.0,
    seconds: Annotated[
        float, typer.Option(help="Seconds of load before and after each fault")
    ] = 10.0,
    port_offset: Annotated[int, typer.Option(help="Added to every service's port")] = 24000,
) -> None:
    """kill -9 the stack and the broker, crash PostgreSQL, during paced checkouts (loopback,
    its own embedded stack); print what was lost or stuck; exit 1 on any loss."""
    from loadtests import chaos as run

    options = run.ChaosOptions(run.faults_from(faults), rate, before_seconds=seconds, after_seconds=seconds, port_offset=port_offset)  # fmt: skip
    rows = asyncio.run(run.run(options))
    typer.echo(run.table(rows))
    if not run.ok(rows):
        raise typer.Exit(1)


@app.command()
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
        str, typer.Option(help="one-process (as `agentshop up`) or per-service (`serve` each)")
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
    from loadtests.report import markdown
    from loadtests.runner import LoadOptions, run

    _settings()
    options = LoadOptions(
        scenario=scenario,  # type: ignore[arg-type]  # checked by validate()
        users=users, spawn_rate=spawn_rate, run_seconds=run_time, target=target,
        services=services,  # type: ignore[arg-type]
        wait_seconds=wait, rate=rate, decline_share=decline_share, out_of_stock_share=out_of_stock_share,
        surge_factor=surge_factor, rate_limit_per_minute=rate_limit, port_offset=port_offset, out=out,
    )  # fmt: skip
    if services not in ("one-process", "per-service"):
        console.print("[red]--services must be one-process or per-service[/red]")
        raise typer.Exit(2)
    try:
        options.validate()
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        report = stack.run_loop(run(options))
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    Console().print(markdown(report))
    failed = report.errors + report.checkouts["errors"] or not (report.invariants or {}).get("ok")
    if failed:
        raise typer.Exit(1)


@dlq_app.command("list")
def dlq_list(
    names: ServicesOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include replayed ones")] = False,
) -> None:
    """Show dead-lettered messages, newest last."""
    from commerce.platform.db import Database
    from commerce.platform.dlq import list_dead_letters

    settings = _settings()
    _needs_infra_db(settings)

    async def main() -> list[list[str]]:
        rows: list[list[str]] = []
        for name in _names(names):
            service = stack.load_service(name)
            db = Database(
                settings.service_database_url(service.spec.env_prefix, service.spec.database)
            )
            try:
                for d in await list_dead_letters(service, db, include_replayed=all_):
                    rows.append([
                        d.service, str(d.id), d.topic, f"{d.partition}/{d.offset}",
                        d.type or "", str(d.attempts), d.error[:80],
                        d.created_at.isoformat(timespec="seconds"),
                        d.replayed_at.isoformat(timespec="seconds") if d.replayed_at else "",
                    ])  # fmt: skip
            finally:
                await db.dispose()
        return rows

    rows = asyncio.run(main())
    table = Table(
        "service", "id", "topic", "part/offset", "type", "attempts", "error", "at", "replayed"
    )
    for row in rows:
        table.add_row(*row)
    Console().print(table if rows else "no dead letters")


@dlq_app.command("replay")
def dlq_replay(
    service_name: Annotated[str, typer.Argument(metavar="SERVICE")],
    ids: Annotated[
        list[int] | None, typer.Option("--id", help="Dead letter ids (default: all)")
    ] = None,
) -> None:
    """Publish a service's dead letters to their original topic again."""
    from commerce.platform.db import Database
    from commerce.platform.dlq import replay

    settings = _settings()
    _needs_infra_db(settings)
    service = stack.load_service(_names([service_name])[0])

    async def main() -> int:
        db = Database(settings.service_database_url(service.spec.env_prefix, service.spec.database))
        try:
            return await replay(service, db, ids)
        finally:
            await db.dispose()

    count = asyncio.run(main())
    console.print(f"replayed {count} message(s); the service's outbox relay publishes them")


if __name__ == "__main__":
    app()


@app.command("eval")
def eval_command(
    backend: Annotated[
        list[str] | None,
        typer.Option(
            help="offline, or openai:<model> (uses OPENAI_BASE_URL, OPENAI_API_KEY); repeatable"
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="dev, test (held back) or all")] = "dev",
    dataset: Annotated[str, typer.Option(help="Dataset version under evals/datasets")] = "v1",
    repeat: Annotated[int, typer.Option(min=1, help="Trials per case; reports pass^k")] = 1,
    plans: Annotated[bool, typer.Option(help="Also generate and score plans")] = True,
    out: Annotated[
        str, typer.Option(help="Where the JSON, Markdown and PNG go")
    ] = ".agentshop/evals",
    limit: Annotated[int | None, typer.Option(help="Only the first N cases")] = None,
    outcome: Annotated[
        bool,
        typer.Option(help="Also play every case against a fresh real stack and compare end states"),
    ] = False,
    port_offset: Annotated[
        int | None,
        typer.Option(help="Port offset of that stack [env AGENTSHOP_PORT_OFFSET]"),
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            help="Compare two result files instead: --compare OLD.json --compare NEW.json"
        ),
    ] = None,
) -> None:
    """Score the assistant's intents, slots and plans on the eval dataset; or compare two runs."""
    from pathlib import Path

    from evals.main import EvalOptions, run_compare, run_eval

    configure_logging(os.environ.get("AGENTSHOP_LOG_LEVEL", "WARNING"), "console")
    out_console = Console() if Console().is_terminal else Console(width=160)
    if compare:
        if len(compare) != 2:
            console.print("[red]--compare takes exactly two files: OLD.json and NEW.json[/red]")
            raise typer.Exit(2)
        try:
            regressions = run_compare(Path(compare[0]), Path(compare[1]), out_console)
        except (OSError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        raise typer.Exit(1 if regressions else 0)
    options = EvalOptions(
        backends=tuple(backend or ["offline"]), split=split, version=dataset, repeat=repeat,
        plans=plans, out=Path(out), limit=limit, outcome=outcome,
        port_offset=port_offset if port_offset is not None else get_settings().port_offset,
    )  # fmt: skip
    try:
        run_eval(options, out_console)
    except (OSError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
