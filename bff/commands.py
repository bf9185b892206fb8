"""The BFF's own commands (the Model Context Protocol server, ACP agent clients), registered
by the `agentshop` package. Only `typer` is imported here; each command imports what it
runs.
"""

from __future__ import annotations

from typing import Annotated

import typer


def mcp(
    url: Annotated[
        str | None, typer.Option(help="The BFF's base URL (default: the running `agentshop up`'s)")
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
    from commerce.platform import runfile

    run(url or runfile.service_url("gateway-bff"), email, password, transport, host, port)


def acp_agent(
    agent_id: Annotated[str, typer.Argument(help="A name for the agent client")],
    user: Annotated[str, typer.Option(help="The user id it buys for, e.g. user_123")],
    webhook: Annotated[str | None, typer.Option(help="Its order webhook endpoint")] = None,
) -> None:
    """Register (or re-key) an Agentic Commerce Protocol agent client; prints its keys once."""
    from dataclasses import asdict

    from rich.console import Console

    from bff.acp_agents import register_command
    from commerce import commands

    commands.needs_database(commands.settings())
    Console().print_json(data=asdict(register_command(agent_id, user, webhook)))
