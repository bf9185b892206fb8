"""`agentshop eval`: the eval harness's own command, registered by the `agentshop` package.

Only `typer` is imported here; the harness is imported when the command runs.
"""

from __future__ import annotations

from typing import Annotated

import typer


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
    import os
    from pathlib import Path

    from commerce.commands import needs_tools

    needs_tools("matplotlib")
    from rich.console import Console

    from commerce.platform.logging import configure_logging
    from commerce.platform.settings import get_settings
    from evals.main import EvalOptions, run_compare, run_eval

    errors = Console(stderr=True)
    configure_logging(os.environ.get("AGENTSHOP_LOG_LEVEL", "WARNING"), "console")
    out_console = Console() if Console().is_terminal else Console(width=160)
    if compare:
        if len(compare) != 2:
            errors.print("[red]--compare takes exactly two files: OLD.json and NEW.json[/red]")
            raise typer.Exit(2)
        try:
            regressions = run_compare(Path(compare[0]), Path(compare[1]), out_console)
        except (OSError, ValueError) as exc:
            errors.print(f"[red]{exc}[/red]")
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
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
