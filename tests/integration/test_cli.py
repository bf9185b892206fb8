"""The `agentshop` command against the session's real database and broker."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from agentshop.cli import app
from commerce.platform.settings import Settings
from commerce.services import SERVICES

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_migrate_topics_seed_are_idempotent(infra: Settings) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output
        assert all(name in result.output for name in SERVICES)
    assert runner.invoke(app, ["topics"]).exit_code == 0
    again = runner.invoke(app, ["topics"])
    assert "all topics existed" in again.output
    assert runner.invoke(app, ["seed"]).exit_code == 0


def test_dlq_list_and_invariants(infra: Settings) -> None:
    runner.invoke(app, ["migrate"])
    listed = runner.invoke(app, ["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    replayed = runner.invoke(app, ["dlq", "replay", "inventory"])
    assert replayed.exit_code == 0 and "replayed" in replayed.output
    checked = runner.invoke(app, ["check-invariants"])
    assert "finished sagas" in checked.output


def test_unknown_service_is_a_clear_error(infra: Settings) -> None:
    result = runner.invoke(app, ["migrate", "no-such-service"])
    assert result.exit_code == 2
    assert "unknown service 'no-such-service'" in result.output


def test_services_lists_ports() -> None:
    result = runner.invoke(app, ["services"])
    assert result.exit_code == 0
    for spec in SERVICES.values():
        assert spec.name in result.output and str(spec.port) in result.output
