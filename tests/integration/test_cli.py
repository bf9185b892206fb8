"""The `agentshop` command against the session's real database and broker."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from agentshop.cli import app
from commerce.platform.settings import get_settings
from commerce.services import SERVICES

pytestmark = pytest.mark.integration
runner = CliRunner()
Cli = Callable[[list[str]], Result]


@pytest.fixture
def cli(child_env: dict[str, str]) -> Iterator[Cli]:
    """The command as a process of the session's run runs it: with the run's environment
    (the runner sets it for the call and restores it after), reading its settings afresh."""

    def invoke(args: list[str]) -> Result:
        get_settings.cache_clear()
        try:
            return runner.invoke(app, args, env=child_env)
        finally:
            get_settings.cache_clear()

    yield invoke


def test_migrate_topics_seed_are_idempotent(cli: Cli) -> None:
    for _ in range(2):
        result = cli(["migrate"])
        assert result.exit_code == 0, result.output
        assert all(name in result.output for name in SERVICES)
    assert cli(["topics"]).exit_code == 0
    again = cli(["topics"])
    assert "all topics existed" in again.output
    assert cli(["seed"]).exit_code == 0


def test_dlq_list_and_invariants(cli: Cli) -> None:
    cli(["migrate"])
    listed = cli(["dlq", "list"])
    assert listed.exit_code == 0, listed.output
    replayed = cli(["dlq", "replay", "inventory"])
    assert replayed.exit_code == 0 and "replayed" in replayed.output
    checked = cli(["check-invariants"])
    assert "finished sagas" in checked.output


def test_unknown_service_is_a_clear_error(cli: Cli) -> None:
    result = cli(["migrate", "no-such-service"])
    assert result.exit_code == 2
    assert "unknown service 'no-such-service'" in result.output


def test_services_lists_ports() -> None:
    result = runner.invoke(app, ["services"])
    assert result.exit_code == 0
    offset = get_settings().port_offset  # the ports shown are the ones `up` would use
    for spec in SERVICES.values():
        assert spec.name in result.output and str(spec.port + offset) in result.output
