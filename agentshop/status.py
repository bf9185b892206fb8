"""`agentshop status`: is a stack started by `agentshop up` running, where, and is each part
healthy?

It reads the run file `agentshop up` writes once its services answer (`<data dir>/run.json`:
its pid, port offset, every service's URL and the web UI's, the database and broker) and
asks each service its `GET /readyz` and the web UI its health check, all at once with a
short timeout. Nothing running (no run file, or one left by a process that is gone) is
said plainly. Exit status: 0 when everything answers ready, 1 when nothing runs, 2 when
something does not answer ready.

Like every module the CLI imports at start, this one imports only `typer` at the top; the
rest is imported when the command runs (docs/adr/0026).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import httpx

    from commerce.platform.runfile import RunInfo

UI_HEALTH = "/_stcore/health"  # Streamlit's own health check
NOT_RUNNING, UNHEALTHY = 1, 2


@dataclass(frozen=True, slots=True)
class Health:
    """What one part answered: `ready`, or why not (`detail`)."""

    name: str
    url: str
    ready: bool
    detail: str

    @property
    def port(self) -> str:
        from urllib.parse import urlsplit

        port = urlsplit(self.url).port
        return "" if port is None else str(port)


async def _probe(http: httpx.AsyncClient, name: str, url: str) -> Health:
    import httpx

    path = UI_HEALTH if name == "ui" else "/readyz"
    try:
        answer = await http.get(url.rstrip("/") + path)
    except httpx.HTTPError as exc:
        return Health(name, url, False, f"no answer ({type(exc).__name__})")
    if answer.status_code == 200:
        return Health(name, url, True, "ready")
    reason = ""
    try:
        body = answer.json()
        if isinstance(body, dict):
            reason = str(body.get("detail") or body.get("status") or "")
    except ValueError:
        reason = answer.text[:80]
    return Health(
        name, url, False, f"not ready ({answer.status_code}{': ' + reason if reason else ''})"
    )


async def probe_all(urls: dict[str, str], seconds: float) -> list[Health]:
    """Every part's health, asked at once, in the run file's order."""
    import asyncio

    import httpx

    async with httpx.AsyncClient(timeout=seconds, trust_env=False) as http:
        return list(await asyncio.gather(*(_probe(http, n, u) for n, u in urls.items())))


def _redact(url: str | None) -> str:
    if not url:
        return "(embedded, see the run file)"
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _data_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    from commerce.platform.settings import get_settings

    return get_settings().data_dir  # AGENTSHOP_DATA_DIR, from the environment or `.env`


def report(info: RunInfo, health: list[Health], data_dir: Path) -> tuple[str, bool]:
    """The text shown for a running stack, and whether every part is ready."""
    ready = all(h.ready for h in health)
    lines = [
        f"agentshop is running (pid {info.pid}, data in {data_dir}, "
        f"port offset {info.port_offset}): "
        + ("every part is ready." if ready else "some parts are not ready."),
    ]
    if "ui" in info.urls:
        lines.append(f"  web UI:  {info.urls['ui']}")
    if "gateway-bff" in info.urls:
        lines.append(f"  BFF API: {info.urls['gateway-bff']}/v1 (docs at /docs)")
    lines.append("")
    names = {h.name: "web UI" if h.name == "ui" else h.name for h in health}
    width = max((len(n) for n in names.values()), default=4)
    url_width = max((len(h.url) for h in health), default=3)
    lines.append(f"  {'part':<{width}}  {'port':>5}  {'url':<{url_width}}  health")
    for h in health:
        lines.append(f"  {names[h.name]:<{width}}  {h.port:>5}  {h.url:<{url_width}}  {h.detail}")
    lines.append("")
    lines.append(f"PostgreSQL: {_redact(info.database_url)}")
    lines.append(f"Kafka: {info.kafka_bootstrap_servers or '(none)'}")
    return "\n".join(lines), ready


def status(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="The data folder of the `agentshop up` to look for (AGENTSHOP_DATA_DIR)"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds each health check may take")] = 2.0,
) -> None:
    """Whether `agentshop up` is running, where (ports, web UI and BFF), and each part's health."""
    import asyncio

    from commerce.platform import runfile

    folder = _data_dir(data_dir)
    info = runfile.read(folder, check_alive=False)
    if info is None:
        typer.echo(
            f"agentshop is not running: no run file in {folder}/ (`agentshop up` or `make up` "
            "starts it; another data folder: --data-dir or AGENTSHOP_DATA_DIR)."
        )
        raise typer.Exit(NOT_RUNNING)
    if runfile.read(folder) is None:  # the pid it names is gone
        typer.echo(
            f"agentshop is not running: {runfile.path(folder)} names pid {info.pid}, which is "
            "gone (it did not stop cleanly). `agentshop up` starts it again."
        )
        raise typer.Exit(NOT_RUNNING)
    health = asyncio.run(probe_all(info.urls, timeout))
    text, ready = report(info, health, folder)
    typer.echo(text)
    if not ready:
        raise typer.Exit(UNHEALTHY)
