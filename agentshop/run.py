"""`agentshop up` and `agentshop serve`: run the services, the BFF and the web UI together.

These compose the commerce services with the web UI (`ui.process`), so they live at the
top of the layers. Only `typer` is imported at module level.
"""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from commerce.commands import ServicesOpt, err_console, fail, needs_broker, needs_database

if TYPE_CHECKING:
    from rich.console import Console

    from commerce.platform.settings import Settings
    from ui.process import UiProcess


def up(
    names: ServicesOpt = None,
    host: Annotated[str, typer.Option(help="Address the HTTP servers bind to")] = "127.0.0.1",
    port_offset: Annotated[
        int | None, typer.Option(help="Added to every service's port [env AGENTSHOP_PORT_OFFSET]")
    ] = None,
    seed: Annotated[bool, typer.Option(help="Load demo data")] = True,
    ui: Annotated[bool, typer.Option(help="Run the web UI (Streamlit) too")] = True,
    processes: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes to run the services over (default: one per core, up to one per "
            "cluster of services that call each other; ADR 31, ADR 47)",
        ),
    ] = None,
    groups: Annotated[
        str | None,
        typer.Option(
            help="Explicit placement, one process per group: 'a,b;c,d' (every service once)"
        ),
    ] = None,
    replicas: Annotated[
        int,
        typer.Option(
            min=1,
            help="Processes running the saga's hot consumers (orchestrator, inventory, payment, "
            "order) in their consumer groups: N - 1 besides the services' (ADR 31)",
        ),
    ] = 1,
) -> None:
    """Start everything: embedded PostgreSQL and broker (unless configured), all services, the UI."""
    import asyncio

    from agentshop.processes import ServiceProcesses
    from commerce.commands import service_names
    from commerce.platform import placement, runfile, stack
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import Settings
    from ui.process import UiProcess

    # the run's configuration: this process's environment, the idle fallbacks for what it
    # does not set, and the options; the services here and the child processes share it
    environment = stack.quiet_when_idle(os.environ)
    if port_offset is not None:
        environment["AGENTSHOP_PORT_OFFSET"] = str(port_offset)
    settings = Settings.from_env(environment)
    configure_logging(settings.log_level, settings.log_format)
    console = err_console()
    data = stack.data_dir(settings)
    chosen = service_names(names)
    try:
        placed = (
            placement.parse_groups(groups, chosen)
            if groups
            else placement.place(chosen, processes or placement.default_processes(chosen))
        )
    except ValueError as exc:
        fail(str(exc))
    running_elsewhere = runfile.read(data)
    if running_elsewhere is not None and running_elsewhere.pid != os.getpid():
        fail(
            f"`agentshop up` already runs from {data} (pid {running_elsewhere.pid}); "
            "stop it first, or use another AGENTSHOP_DATA_DIR."
        )
    # every port this start needs, checked before anything starts (another stack, or
    # another program, may hold them)
    from commerce.platform.embedded import port_is_free
    from commerce.services import SERVICES, UI_PORT

    wanted = {name: SERVICES[name].port + settings.port_offset for name in chosen}
    if ui:
        wanted["web UI"] = UI_PORT + settings.port_offset
    busy = [f"{name} ({port})" for name, port in wanted.items() if not port_is_free(port, host)]
    if busy:
        fail(
            f"ports already in use: {', '.join(busy)}. Another stack may be running; stop it, "
            "or start this one elsewhere with --port-offset N (or AGENTSHOP_PORT_OFFSET)."
        )

    async def main(infra: stack.Infrastructure) -> None:
        # SIGINT (Ctrl-C) or SIGTERM at any moment: during start-up the start is cancelled
        # where it stands; once running, the wait ends. Either way the `finally` stops, in
        # order and bounded, whatever had started (docs/adr/0027).
        loop = asyncio.get_running_loop()
        this = asyncio.current_task()
        stop = asyncio.Event()
        starting = True

        def on_signal() -> None:
            if starting and this is not None and not stop.is_set():
                this.cancel()
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        web: UiProcess | None = None
        running: stack.RunningServices | None = None
        consumers = placement.replicated(chosen)
        children = ServiceProcesses(
            settings, placed, host, data / "logs", infra.environment, replicas=replicas,
            replicated=(consumers, placement.called_by(consumers, chosen)),
        )  # fmt: skip
        supervisors: list[asyncio.Task[None]] = []
        try:
            fresh = infra.settings
            # an embedded server that dies is restarted from here on, also while the rest
            # starts (a slow start of several processes can take a minute)
            supervisors.append(asyncio.create_task(infra.supervise(fresh)))
            with console.status("preparing databases") as status:
                status.update("migrating service databases")
                await stack.migrate(fresh, chosen)
                status.update("creating topics")
                await stack.create_topics(fresh)
                if seed:
                    status.update("loading demo data")
                    await stack.seed(fresh, chosen)
                status.update("starting services")
                web = UiProcess(fresh, host=host, environment=infra.environment) if ui else None
                if web is not None:
                    web.start()
                children.start()  # the other groups, each in a process of its own
                running = await stack.start_services(children.own(fresh), placed[0], host=host)
                children.start_replicas()
                if children.count > 1:
                    status.update(f"waiting for {children.count - 1} more service process(es)")
                    await children.until_ready()
                if web is not None:
                    status.update("starting the web UI")
                    if not await web.until_ready():
                        console.print(
                            "[yellow]the web UI did not answer yet; it keeps starting[/yellow]"
                        )
            urls = _urls(fresh, chosen, host, web)
            runfile.write(
                data,
                runfile.RunInfo(
                    pid=os.getpid(),
                    port_offset=fresh.port_offset,
                    database_url=fresh.database_url,
                    kafka_bootstrap_servers=fresh.kafka_bootstrap_servers,
                    urls=urls,
                ),
            )
            print_running(console, fresh, urls)
            if len(placed) > 1:
                console.print(
                    f"Services over {len(placed)} processes: "
                    + " | ".join(", ".join(group) for group in placed)
                )
            if children.count > len(placed):
                console.print(
                    f"Consumers of {', '.join(consumers)} also in "
                    f"{children.count - len(placed)} replica process(es)"
                )
            supervisors.append(asyncio.create_task(children.supervise()))
            if web is not None:
                supervisors.append(asyncio.create_task(web.supervise()))
            starting = False
            await stop.wait()
        finally:
            starting = False
            runfile.remove(data, os.getpid())
            for task in supervisors:
                task.cancel()
            console.print("stopping services…")
            if web is not None:
                await asyncio.to_thread(web.stop, 5.0)
            await asyncio.to_thread(children.stop)
            if running is not None:
                try:
                    await asyncio.wait_for(running.stop(), 6.0)
                except TimeoutError:
                    console.print("[yellow]services did not stop within 6 s; leaving[/yellow]")

    # Before and after the event loop runs (embedded PostgreSQL and broker starting or
    # stopping), the first SIGINT or SIGTERM ends the start; later ones are ignored, so
    # the stop in progress is not cut short.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)

    def step(text: str) -> None:
        _stop_if_interrupted()
        console.print(f"• {text}")

    try:
        with stack.infrastructure(environment, on_step=step) as infra:
            try:
                _stop_if_interrupted()
                stack.run_loop(main(infra))
            finally:
                _ignore_signals()
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    console.print("stopped.")


_interrupted = False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    global _interrupted
    _interrupted = True
    _ignore_signals()
    raise KeyboardInterrupt


def _stop_if_interrupted() -> None:
    """Raise again an interrupt that was lost: a KeyboardInterrupt raised where Python
    ignores exceptions (logging's after-fork hook, while a child process starts) goes no
    further, and the start would go on with the signals already ignored."""
    if _interrupted:
        raise KeyboardInterrupt


def _ignore_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _urls(settings: Settings, names: list[str], host: str, web: UiProcess | None) -> dict[str, str]:
    from commerce.services import SERVICES

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    urls = {name: f"http://{shown}:{SERVICES[name].port + settings.port_offset}" for name in names}
    if web is not None:
        urls["ui"] = web.url
    return urls


def print_running(console: Console, settings: Settings, urls: dict[str, str]) -> None:
    """The table of what runs where: two columns, so it fits an 80-column terminal."""
    from rich.table import Table

    table = Table("service", "url", title="agentshop is running", title_justify="left")
    for name, url in urls.items():
        table.add_row("web UI" if name == "ui" else name, url)
    console.print(table)
    console.print("Each service answers GET /readyz once it is ready.")
    if "ui" in urls:
        console.print(f"Open {urls['ui']} in a browser to shop with the assistant.")
    console.print(f"PostgreSQL: {_redact(settings.database_url or '')}")
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
    from commerce.platform import stack
    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings
    from commerce.services import SERVICES

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.embedded_postgres or settings.embedded_kafka:
        needs_database(settings)
        needs_broker(settings)
    if name not in SERVICES:
        fail(f"unknown service {name!r}; known: {', '.join([*SERVICES, 'ui'])}")

    async def main() -> None:
        running = await stack.start_services(settings, [name], host=host, port=port)
        try:
            await stack.wait_for_signal()
        finally:
            await running.stop()

    stack.run_loop(main())
