"""The README's quick start stays true: its curl walk-through runs against a real stack,
every `make` target and `agentshop` command it names exists, and it links only files of
this repository."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentshop.cli import app
from commerce.services import SERVICES
from tests.conftest import ServiceStack

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.index("\n## ", start + 1)
    return README[start:end]


QUICK_START = _section("Quick start")
BLOCKS = re.findall(r"```bash\n(.*?)```", QUICK_START, flags=re.S)
WALK_THROUGH = next(b for b in BLOCKS if b.startswith("BFF="))


def _commands() -> list[str]:
    """Every command line of the quick start's blocks but the walk-through, comments cut."""
    lines = [
        line.split("  #")[0].strip()
        for b in BLOCKS
        if b is not WALK_THROUGH
        for line in b.splitlines()
    ]
    return [line for line in lines if line]


def test_the_quick_start_has_its_blocks() -> None:
    assert len(BLOCKS) >= 3 and _commands()


def test_every_make_target_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.M))
    named = [c.split()[1] for c in _commands() if c.startswith("make ")]
    assert named and set(named) <= targets, set(named) - targets


def test_every_agentshop_command_exists() -> None:
    runner = CliRunner()
    named = [c.split()[1:] for c in _commands() if c.startswith(".venv/bin/agentshop")]
    assert named
    for words in named:
        args = [w for w in words if not w.startswith("-")] + ["--help"]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (words, result.output)


def test_links_stay_inside_the_repository() -> None:
    assert "../shared" not in README
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if target.startswith(("http://", "https://")):
            continue
        assert (ROOT / target).exists(), target


@pytest.mark.integration
async def test_the_curl_walk_through_runs(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    process = await asyncio.create_subprocess_exec(
        "bash", "-euo", "pipefail", "-c", WALK_THROUGH,
        env={"PATH": "/usr/bin:/bin", "BFF": stack.settings.service_url("gateway-bff")},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 180)
    output = out.decode()
    assert process.returncode == 0, output
    assert "event: CheckoutCompleted" in output, output
    assert "confirmed" in output.splitlines(), output
    assert '"status":"pending"' in output.replace(" ", ""), output
    assert output.rstrip().splitlines()[-1] == "500", output  # the refunded amount
