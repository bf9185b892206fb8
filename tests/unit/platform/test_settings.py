"""Settings: environment mapping, per-service databases, no dev secrets in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from commerce.platform.settings import Settings, to_asyncpg_url


def test_embedded_defaults_when_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    settings = Settings(_env_file=None)
    assert settings.embedded_postgres and settings.embedded_kafka


def test_service_database_is_derived_from_the_server_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret@db.internal:5432/postgres")
    settings = Settings(_env_file=None)
    assert settings.service_database_url("INVENTORY_", "inventory") == (
        "postgresql+asyncpg://app:s3cret@db.internal:5432/inventory"
    )
    monkeypatch.setenv("INVENTORY_DATABASE_URL", "postgresql://inv@other:5432/stock")
    assert settings.service_database_url("INVENTORY_", "inventory") == (
        "postgresql+asyncpg://inv@other:5432/stock"
    )


def test_production_refuses_the_dev_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSHOP_ENV", "prod")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/postgres")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("AGENTSHOP_SERVICE_TOKEN", "s" * 40)
    monkeypatch.delenv("AGENTSHOP_JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="AGENTSHOP_JWT_SECRET"):
        Settings(_env_file=None)
    monkeypatch.setenv("AGENTSHOP_JWT_SECRET", "a-real-secret-from-the-vault")
    assert Settings(_env_file=None).env == "prod"


def test_production_needs_a_service_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSHOP_ENV", "prod")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/postgres")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("AGENTSHOP_JWT_SECRET", "a-real-secret-from-the-vault")
    monkeypatch.delenv("AGENTSHOP_SERVICE_TOKEN", raising=False)
    with pytest.raises(ValidationError, match="AGENTSHOP_SERVICE_TOKEN"):
        Settings(_env_file=None)
    monkeypatch.setenv("AGENTSHOP_SERVICE_TOKEN", "too-short")
    with pytest.raises(ValidationError, match="AGENTSHOP_SERVICE_TOKEN"):
        Settings(_env_file=None)
    monkeypatch.setenv("AGENTSHOP_SERVICE_TOKEN", "t" * 32)
    assert Settings(_env_file=None).service_token is not None


def test_production_needs_external_infrastructure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSHOP_ENV", "prod")
    monkeypatch.setenv("AGENTSHOP_JWT_SECRET", "a-real-secret-from-the-vault")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(_env_file=None)


def test_service_urls_follow_ports_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    from commerce.services import SERVICES, ServiceSpec

    monkeypatch.setitem(
        SERVICES, "tax-calculation", ServiceSpec("tax-calculation", 8105, "", "x:y")
    )
    monkeypatch.setenv("AGENTSHOP_PORT_OFFSET", "100")
    settings = Settings(_env_file=None)
    assert settings.service_url("tax-calculation") == "http://127.0.0.1:8205"
    monkeypatch.setenv("TAX_CALCULATION_URL", "http://tax:8105/")
    assert settings.service_url("tax-calculation") == "http://tax:8105"


def test_asyncpg_url_normalisation() -> None:
    assert to_asyncpg_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert (
        to_asyncpg_url("postgresql://u:p@h:1/db", database="x") == "postgresql+asyncpg://u:p@h:1/x"
    )


def test_every_setting_is_documented_in_the_readme() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    missing = [
        field.alias
        for field in Settings.model_fields.values()
        if field.alias and f"`{field.alias}`" not in readme and f"{field.alias}`" not in readme
    ]
    assert missing == [], f"add these to the README's configuration table: {missing}"


def test_the_replay_window_fits_in_what_outboxes_and_inboxes_keep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A replayed message must still be in its outbox, and its id in the consumers' inboxes."""
    monkeypatch.setenv("AGENTSHOP_OUTBOX_REPLAY_SECONDS", str(2 * 3600))
    monkeypatch.setenv("AGENTSHOP_OUTBOX_RETENTION_HOURS", "1")
    with pytest.raises(ValidationError, match="AGENTSHOP_OUTBOX_REPLAY_SECONDS"):
        Settings(_env_file=None)
    monkeypatch.setenv("AGENTSHOP_OUTBOX_RETENTION_HOURS", "24")
    monkeypatch.setenv("AGENTSHOP_INBOX_RETENTION_HOURS", "1")
    with pytest.raises(ValidationError, match="AGENTSHOP_INBOX_RETENTION_HOURS"):
        Settings(_env_file=None)
    monkeypatch.setenv("AGENTSHOP_INBOX_RETENTION_HOURS", "168")
    assert Settings(_env_file=None).outbox_replay_seconds == 2 * 3600
