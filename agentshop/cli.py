"""The `agentshop` command: one typer app composing each package's own commands.

Each package keeps its commands in its own `commands` module (commerce, loadtests, evals);
this module only registers them. Modules imported here import nothing but `typer`; every
command imports what it needs when it runs, so `agentshop --help` answers at once
(benchmarks/cli_startup.py measures it).
"""

from __future__ import annotations

from typing import Annotated

import typer

from agentshop import run, status
from bff import commands as bff
from commerce import commands as commerce
from evals.commands import eval_command
from loadtests.commands import chaos, load

app = typer.Typer(
    help="agentshop: an agentic shopping assistant on an event-driven commerce backend.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

app.command()(run.up)
app.command()(run.serve)
app.command()(status.status)


@app.command()
def chat(
    url: Annotated[
        str | None,
        typer.Option(help="The BFF's base URL (default: the running `agentshop up`'s BFF)"),
    ] = None,
    email: Annotated[str, typer.Option(help="Who to sign in as")] = "alice@example.com",
    password: Annotated[str, typer.Option(help="Their password")] = "alice-demo-pass",
) -> None:
    """Chat with the shopping assistant through a running BFF; approve orders with y/n."""
    from assistant.terminal import run_chat
    from commerce.platform import runfile

    base = url or runfile.service_url("gateway-bff")
    raise typer.Exit(run_chat(base.rstrip("/"), email, password))


app.command()(commerce.services)
app.command()(commerce.migrate)
app.command()(commerce.seed)
app.command()(commerce.topics)
app.command()(commerce.contracts)
app.command("check-invariants")(commerce.check_invariants)
app.add_typer(commerce.dlq_app, name="dlq")
app.command()(load)
app.command()(chaos)
app.command()(bff.mcp)
app.command("acp-agent")(bff.acp_agent)
app.command("eval")(eval_command)


if __name__ == "__main__":
    app()
