"""Ctrl-C at any moment of `agentshop up`: SIGINT or SIGTERM to its process group while the
embedded PostgreSQL starts, while the broker starts, right after the BFF first answers
(consumers and the web UI still starting), and once everything runs. Each time the process
and every child it started end, and the run file is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from commerce.services import SERVICES
from tests.e2e.helpers import start_up

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A fixed offset, like tests/e2e/test_up.py: every port below 32768, where no outgoing
# connection of the machine takes it (the session stack uses 20000, test_up 12000).
OFFSET = 13000
BFF_READY = f"http://127.0.0.1:{SERVICES['gateway-bff'].port + OFFSET}/readyz"
# A bound for a hang, not a speed check: PostgreSQL's fast shutdown writes a checkpoint,
# which on a busy disk has taken over 10 s; `up` gives it 30 s and the broker 10 s.
STOP_WITHIN_S = 45.0


def _log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _bff_answers() -> bool:
    try:
        return httpx.get(BFF_READY, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


MOMENTS: dict[str, Callable[[Path, Path], bool]] = {
    "postgres-starting": lambda log, data: "starting PostgreSQL" in _log(log),
    "broker-starting": lambda log, data: "starting Kafka-protocol broker" in _log(log),
    "bff-just-ready": lambda log, data: _bff_answers(),
    "running": lambda log, data: (data / "run.json").exists(),
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for every moment: the database cluster is created once."""
    return tmp_path_factory.mktemp("up-data")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_signal_to_the_group_stops_everything(
    moment: str, sig: signal.Signals, data_dir: Path, tmp_path: Path
) -> None:
    log_path = tmp_path / "up.log"
    proc = start_up(
        [],
        log_path,
        AGENTSHOP_DATA_DIR=str(data_dir),
        AGENTSHOP_PORT_OFFSET=str(OFFSET),
        AGENTSHOP_LOG_LEVEL="WARNING",
    )
    seen: dict[int, psutil.Process] = {}
    try:
        reached = MOMENTS[moment]
        deadline = time.monotonic() + 240
        while not reached(log_path, data_dir):
            assert proc.poll() is None, _log(log_path)
            assert time.monotonic() < deadline, f"never reached {moment}:\n{_log(log_path)}"
            for child in psutil.Process(proc.pid).children(recursive=True):
                seen.setdefault(child.pid, child)
            time.sleep(0.05)
        for child in psutil.Process(proc.pid).children(recursive=True):
            seen.setdefault(child.pid, child)
        os.killpg(proc.pid, sig)
        try:
            code = proc.wait(STOP_WITHIN_S)
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"`agentshop up` still runs {STOP_WITHIN_S} s after {sig.name}:\n{_log(log_path)}"
            )
        assert code == 0, _log(log_path)
        end = time.monotonic() + 2
        alive = list(seen.values())
        while alive and time.monotonic() < end:
            alive = [c for c in alive if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
            time.sleep(0.05)
        assert alive == [], f"left behind: {alive}\n{_log(log_path)}"
        assert not (data_dir / "run.json").exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for child in seen.values():
            if child.is_running():
                child.kill()
