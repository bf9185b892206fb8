"""`agentshop status` against run files: nothing running, a run file left by a dead process,
and a running stack whose parts answer (or do not) their health checks."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentshop.cli import app
from commerce.platform import runfile
from tests.conftest import ServiceStack

pytestmark = pytest.mark.integration
runner = CliRunner()


def status(data: Path) -> tuple[int, str]:
    result = runner.invoke(app, ["status", "--data-dir", str(data), "--timeout", "5"])
    return result.exit_code, result.output


def test_nothing_running_is_said_plainly(tmp_path: Path) -> None:
    code, output = status(tmp_path)
    assert code == 1 and "agentshop is not running: no run file" in output, output
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    runfile.write(tmp_path, runfile.RunInfo(int(gone.stdout), 0, None, None, {}))
    code, output = status(tmp_path)
    assert code == 1 and f"names pid {gone.stdout.strip()}, which is gone" in output, output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_running_stack_shows_where_and_each_parts_health(
    stack: ServiceStack, tmp_path: Path
) -> None:
    await stack.ensure("gateway-bff", "inventory")
    settings = stack.settings
    urls = {name: settings.service_url(name) for name in ("gateway-bff", "inventory")}
    runfile.write(
        tmp_path,
        runfile.RunInfo(
            os.getpid(), settings.port_offset, "postgresql://agentshop:secret@127.0.0.1:5/x",
            settings.kafka_bootstrap_servers, urls,
        ),
    )  # fmt: skip
    code, output = await asyncio.to_thread(status, tmp_path)
    assert code == 0, output
    assert f"port offset {settings.port_offset}" in output and "every part is ready" in output
    assert f"BFF API: {urls['gateway-bff']}/v1" in output
    for name, url in urls.items():
        port = url.rsplit(":", 1)[1]
        assert any(
            name in line and port in line and "ready" in line for line in output.splitlines()
        )
    assert "secret" not in output  # the database password is not shown

    # a part that does not answer: named, and the exit status says so
    silent = f"http://127.0.0.1:{free_port()}"
    runfile.write(tmp_path, runfile.RunInfo(os.getpid(), settings.port_offset, None, None,
                                            {**urls, "ui": silent}))  # fmt: skip
    code, output = await asyncio.to_thread(status, tmp_path)
    assert code == 2, output
    assert f"web UI:  {silent}" in output and "some parts are not ready" in output
    assert any(line.strip().startswith("web UI") and "no answer" in line
               for line in output.splitlines()), output  # fmt: skip
