"""`agentshop up` as a person runs it: everything starts, answers /readyz, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest

from commerce.platform.placement import default_processes
from commerce.services import SERVICES, UI_PORT
from tests.e2e.helpers import start_up

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Below 32768, so no port of this stack falls in the range the kernel hands to outgoing
# connections (the session stack uses 20000).
PORT_OFFSET = 12000


def test_up_serves_every_service_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    proc = start_up(
        [],  # the default placement: one process per core, up to one per cluster
        tmp_path / "up.log",
        AGENTSHOP_DATA_DIR=str(tmp_path / "data"),
        AGENTSHOP_PORT_OFFSET=str(PORT_OFFSET),
        AGENTSHOP_LOG_FORMAT="console",
        AGENTSHOP_LOG_LEVEL="WARNING",
    )
    try:
        deadline = time.monotonic() + 180
        pending = {name: spec.port + PORT_OFFSET for name, spec in SERVICES.items()}
        ready: dict[str, dict[str, object]] = {}
        started = False
        while time.monotonic() < deadline and (pending or not started):
            assert proc.poll() is None, (tmp_path / "up.log").read_text()
            started = started or "agentshop is running" in (tmp_path / "up.log").read_text()
            for name, port in list(pending.items()):
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                except httpx.HTTPError:
                    continue
                if response.status_code == 200:
                    ready[name] = response.json()
                    del pending[name]
            time.sleep(0.3)
        assert not pending, f"not ready: {pending}\n{(tmp_path / 'up.log').read_text()}"
        assert started, (tmp_path / "up.log").read_text()
        for name, body in ready.items():
            assert body["checks"] == {"database": "ok", "broker": "ok"}, name
        # the web UI runs too, as a child process, and serves its page
        ui = f"http://127.0.0.1:{UI_PORT + PORT_OFFSET}"
        assert httpx.get(f"{ui}/_stcore/health", timeout=5).text == "ok"
        assert "<title>Streamlit</title>" in httpx.get(ui, timeout=5).text
        assert f"http://localhost:{UI_PORT + PORT_OFFSET}" in (tmp_path / "up.log").read_text()
        children = psutil.Process(proc.pid).children(recursive=True)
        names = {c.name() for c in children}
        assert "postgres" in names and any(n.startswith("tansu") for n in names), names
        assert any("ui.serve" in " ".join(c.cmdline()) for c in children), names
        # the services over a process per core (up to one per cluster): every group after
        # the first runs as a child (docs/adr/0031, docs/adr/0047)
        groups = [c for c in children if "agentshop.group" in " ".join(c.cmdline())]
        assert len(groups) == default_processes(list(SERVICES)) - 1, names

        # The embedded broker dies: `up` restarts it and the services become ready again.
        broker = next(c for c in children if c.name().startswith("tansu"))
        broker.kill()
        broker.wait(10)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = psutil.Process(proc.pid).children(recursive=True)
            replacement = [
                c for c in current if c.name().startswith("tansu") and c.pid != broker.pid
            ]
            if replacement:
                break
            time.sleep(0.2)
        assert replacement, (tmp_path / "up.log").read_text()
        for name, spec in SERVICES.items():
            url = f"http://127.0.0.1:{spec.port + PORT_OFFSET}/readyz"
            while httpx.get(url, timeout=5).status_code != 200:
                assert time.monotonic() < deadline, f"{name} did not recover"
                time.sleep(0.3)
        # the web UI dies: `up` starts it again
        children = psutil.Process(proc.pid).children(recursive=True)
        web = next(c for c in children if "ui.serve" in " ".join(c.cmdline()))
        web.kill()
        web.wait(10)
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, "the web UI did not come back"
            try:
                if httpx.get(f"{ui}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        children = psutil.Process(proc.pid).children(recursive=True)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, (tmp_path / "up.log").read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    # every child ends with `up` (a zombie not reaped yet has ended too)
    _, alive = psutil.wait_procs(children, timeout=10)
    leftovers = [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == [], f"processes left behind: {leftovers}"
    output = (tmp_path / "up.log").read_text()
    assert "stopped." in output
