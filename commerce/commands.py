"""The commerce backend's own commands: operate the databases, topics, contracts and dead
letters of the services. The top-level `agentshop` package registers them.

Only `typer` is imported here; each command imports what it needs when it runs, so
`agentshop --help` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from commerce.platform.settings import Settings

ServicesOpt = Annotated[
    list[str] | None,
    typer.Argument(help="Service names (default: all). See `agentshop services`."),
]

dlq_app = typer.Typer(help="Dead-lettered messages: list and replay.", no_args_is_help=True)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err_console().print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def needs_tools(*modules: str) -> None:
    """A clear error when a development tool (the `perf` group: Locust, matplotlib) is absent:
    `make up` installs only what running the shop needs."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        fail(
            f"this command needs {', '.join(missing)}, a development tool: "
            "run `make install-dev` (or `uv sync --group perf`)"
        )


def settings() -> Settings:
    """This process's settings, completed from a running `agentshop up` (its run file), with
    logging configured."""
    from commerce.platform import runfile
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings

    found = runfile.discover(get_settings())
    configure_logging(found.log_level, found.log_format)
    return found


def service_names(names: list[str] | None) -> list[str]:
    """The chosen services (all when none are named); an unknown name is a clear error."""
    from commerce.platform import stack

    try:
        return stack.service_names(names or None)
    except KeyError as exc:
        fail(str(exc.args[0]))


def needs_database(found: Settings) -> None:
    if found.embedded_postgres:
        fail(
            "No database: start `agentshop up` (its address is found by itself) "
            "or set DATABASE_URL."
        )


def needs_broker(found: Settings) -> None:
    if found.embedded_kafka:
        fail(
            "No broker: start `agentshop up` (its address is found by itself) "
            "or set KAFKA_BOOTSTRAP_SERVERS."
        )


def services() -> None:
    """List the services, their ports and databases."""
    from rich.console import Console
    from rich.table import Table

    from commerce.platform.settings import get_settings
    from commerce.services import SERVICES, UI_PORT

    offset = get_settings().port_offset  # AGENTSHOP_PORT_OFFSET, as `up` uses it
    table = Table("service", "port", "database", "what it does")
    for spec in SERVICES.values():
        table.add_row(spec.name, str(spec.port + offset), spec.database, spec.description)
    table.add_row(
        "ui", str(UI_PORT + offset), "—", "the web UI (Streamlit), talks to gateway-bff only"
    )
    Console().print(table)


def migrate(names: ServicesOpt = None) -> None:
    """Create missing service databases and upgrade them to the latest schema (idempotent)."""
    import asyncio

    from commerce.platform import stack

    found = settings()
    needs_database(found)
    done = asyncio.run(stack.migrate(found, service_names(names)))
    err_console().print(f"migrated: {', '.join(done)}")


def seed(names: ServicesOpt = None) -> None:
    """Load demo data (idempotent)."""
    import asyncio

    from commerce.platform import stack

    found = settings()
    needs_database(found)
    done = asyncio.run(stack.seed(found, service_names(names)))
    err_console().print(f"seeded: {', '.join(done) or 'nothing to seed'}")


def topics() -> None:
    """Create the Kafka topics (and their dead-letter topics) that do not exist yet."""
    import asyncio

    from commerce.platform import stack

    found = settings()
    needs_broker(found)
    created = asyncio.run(stack.create_topics(found))
    err_console().print(f"created: {', '.join(created) or 'all topics existed'}")


def contracts(
    check: Annotated[bool, typer.Option(help="Fail if the committed files are stale")] = False,
) -> None:
    """Regenerate docs/asyncapi.yaml and docs/schemas/ from the message models."""
    import tempfile
    from pathlib import Path

    from commerce.contracts import asyncapi
    from commerce.platform import stack
    from commerce.services import SERVICES

    loaded = [stack.load_service(name) for name in SERVICES]
    if check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp)
            asyncapi.write(loaded, fresh)
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
            fail(f"stale: {', '.join(stale)}; run `agentshop contracts`", 1)
        err_console().print("contracts are up to date")
        return
    changed = asyncapi.write(loaded)
    err_console().print(f"updated {len(changed)} file(s)")


def check_invariants() -> None:
    """Check that payments, orders, stock and sagas agree; exit 1 on any violation."""
    import asyncio

    from rich.console import Console

    from commerce.checkout.invariants import check_invariants as check

    found = settings()
    needs_database(found)
    report = asyncio.run(check(found))
    Console().print(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@dlq_app.command("list")
def dlq_list(
    names: ServicesOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include replayed ones")] = False,
) -> None:
    """Show dead-lettered messages, newest last."""
    import asyncio

    from rich.console import Console
    from rich.table import Table

    from commerce.platform import stack
    from commerce.platform.db import Database
    from commerce.platform.dlq import list_dead_letters

    found = settings()
    needs_database(found)
    chosen = service_names(names)

    async def main() -> list[list[str]]:
        rows: list[list[str]] = []
        for name in chosen:
            service = stack.load_service(name)
            db = Database(
                found.service_database_url(service.spec.env_prefix, service.spec.database)
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
    import asyncio

    from commerce.platform import stack
    from commerce.platform.db import Database
    from commerce.platform.dlq import replay

    found = settings()
    needs_database(found)
    service = stack.load_service(service_names([service_name])[0])

    async def main() -> int:
        db = Database(found.service_database_url(service.spec.env_prefix, service.spec.database))
        try:
            return await replay(service, db, ids)
        finally:
            await db.dispose()

    count = asyncio.run(main())
    err_console().print(f"replayed {count} message(s); the service's outbox relay publishes them")
