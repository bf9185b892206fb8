"""The run file of `agentshop up`: the operator commands find a running stack by it, and
ignore one left by a process that is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from commerce.platform import runfile
from commerce.platform.settings import Settings


def _info(pid: int) -> runfile.RunInfo:
    return runfile.RunInfo(
        pid=pid,
        port_offset=27000,
        database_url="postgresql://postgres@127.0.0.1:5999/postgres",
        kafka_bootstrap_servers="127.0.0.1:9999",
        urls={"gateway-bff": "http://localhost:35000"},
    )


def _gone_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.endswith("DATABASE_URL") or key in (
            "KAFKA_BOOTSTRAP_SERVERS",
            "AGENTSHOP_PORT_OFFSET",
        ):
            monkeypatch.delenv(key)


def test_a_running_stack_completes_the_settings(tmp_path: Path, unconfigured: None) -> None:
    runfile.write(tmp_path, _info(os.getpid()))
    assert (tmp_path / "run.json").stat().st_mode & 0o077 == 0  # it names the database
    found = runfile.discover(Settings(AGENTSHOP_DATA_DIR=tmp_path))
    assert found.database_url == "postgresql://postgres@127.0.0.1:5999/postgres"
    assert found.kafka_bootstrap_servers == "127.0.0.1:9999"
    assert found.port_offset == 27000
    assert found.service_url("gateway-bff") == "http://127.0.0.1:35000"


def test_what_is_configured_wins(
    tmp_path: Path, unconfigured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    runfile.write(tmp_path, _info(os.getpid()))
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/postgres")
    monkeypatch.setenv("AGENTSHOP_PORT_OFFSET", "5")
    found = runfile.discover(Settings(AGENTSHOP_DATA_DIR=tmp_path))
    assert found.database_url == "postgresql://elsewhere/postgres"
    assert found.kafka_bootstrap_servers == "127.0.0.1:9999"
    assert found.port_offset == 5


def test_a_file_left_by_a_dead_process_is_ignored(tmp_path: Path, unconfigured: None) -> None:
    runfile.write(tmp_path, _info(_gone_pid()))
    assert runfile.read(tmp_path) is None
    found = runfile.discover(Settings(AGENTSHOP_DATA_DIR=tmp_path))
    assert found.embedded_postgres and found.port_offset == 0


def test_only_the_owner_removes_it(tmp_path: Path) -> None:
    runfile.write(tmp_path, _info(os.getpid()))
    runfile.remove(tmp_path, pid=os.getpid() + 1)
    assert runfile.read(tmp_path) is not None
    runfile.remove(tmp_path, pid=os.getpid())
    assert not (tmp_path / "run.json").exists()
    (tmp_path / "run.json").write_text("{not json")
    assert runfile.read(tmp_path) is None


def test_chat_finds_the_bff_of_the_running_stack(
    tmp_path: Path, unconfigured: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GATEWAY_BFF_URL", raising=False)
    monkeypatch.setenv("AGENTSHOP_DATA_DIR", str(tmp_path))
    assert runfile.service_url("gateway-bff") == "http://127.0.0.1:8000"
    runfile.write(tmp_path, _info(os.getpid()))
    assert runfile.service_url("gateway-bff") == "http://localhost:35000"
    monkeypatch.setenv("GATEWAY_BFF_URL", "http://bff.example:80/")
    assert runfile.service_url("gateway-bff") == "http://bff.example:80"
