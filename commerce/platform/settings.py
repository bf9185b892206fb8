"""Process-wide settings, read from the environment (see README, "Configuration").

The environment is read once, when the tree is made: `Settings()` reads this process's,
`Settings.from_env(mapping)` a mapping a caller prepared (`agentshop up`, the test
session, the eval and load-test runners: the variables their child processes get too).
Nothing configures this process by changing `os.environ` (docs/adr/0035).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars
from sqlalchemy.engine import make_url

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"

# The environment the tree being made reads instead of `os.environ` (`Settings.from_env`);
# None: `os.environ`.
_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("environment", default=None)


def _environment() -> Mapping[str, str]:
    given = _ENVIRONMENT.get()
    return os.environ if given is None else given


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, over a given mapping instead of `os.environ`."""

    def __init__(self, settings_cls: type[BaseSettings], environment: Mapping[str, str]) -> None:
        self._given = environment
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._given, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class _FromEnvironment(BaseSettings):
    """A branch of the tree: read from `os.environ`, or the mapping `Settings.from_env` got."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        given = _ENVIRONMENT.get()
        if given is not None:
            env_settings = _MappingSource(settings_cls, given)
        return init_settings, env_settings, dotenv_settings, file_secret_settings


# The settings of one service. Each is a branch of the one tree (`Settings`), read from
# its own variables (prefix below) when the tree is made; services read them from the
# runtime's `settings`, never by making their own.


class CheckoutSettings(_FromEnvironment):
    """CHECKOUT_ORCHESTRATOR_STEP_TIMEOUT_SECONDS (default 5): how long a step may take
    before the sweeper looks at it; CHECKOUT_ORCHESTRATOR_MAX_RESENDS (default 3): counted
    re-sends before the saga compensates; CHECKOUT_ORCHESTRATOR_SWEEP_SECONDS (default 0.5);
    _STEP_LIMIT_SECONDS (120): how long a step may wait on a service that is up before its
    re-sends count; _SWEEP_BATCH (100) and _MAX_RESENDS_PER_SWEEP (20) bound one sweep.
    What a finished saga sent is confirmed end to end (docs/adr/0020): _FOLLOW_UP_SECONDS
    (30) before the first check, then every _FOLLOW_UP_CHECK_SECONDS (2), for at most
    _FOLLOW_UP_WINDOW_SECONDS (3600). _QUOTE_FRESH_SECONDS (5): a checkout command whose
    publisher priced it this recently starts at that price without pricing it again (0:
    always price again; docs/adr/0041)."""

    model_config = SettingsConfigDict(env_prefix="CHECKOUT_ORCHESTRATOR_", extra="ignore")

    step_timeout_seconds: float = Field(5.0, gt=0)
    max_resends: int = Field(3, ge=0)
    sweep_seconds: float = Field(0.5, gt=0)
    step_limit_seconds: float = Field(120.0, gt=0)
    sweep_batch: int = Field(100, ge=1)
    max_resends_per_sweep: int = Field(20, ge=1)
    follow_up_seconds: float = Field(30.0, gt=0)
    follow_up_window_seconds: float = Field(3600.0, gt=0)
    follow_up_check_seconds: float = Field(2.0, gt=0)
    quote_fresh_seconds: float = Field(5.0, ge=0)


class PaymentSettings(_FromEnvironment):
    """PAYMENT_GATEWAY_SUCCESS_RATE (0..1, default 0.9): approval rate of tokens that are
    not test tokens; PAYMENT_GATEWAY_SLOW_SECONDS (default 2): delay of `tok_slow`."""

    model_config = SettingsConfigDict(env_prefix="PAYMENT_GATEWAY_", extra="ignore")

    success_rate: float = Field(0.9, ge=0, le=1)
    slow_seconds: float = Field(2.0, ge=0)


class InventorySettings(_FromEnvironment):
    """INVENTORY_SWEEP_SECONDS (default 1): how often holds past their expiry are released."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore")

    sweep_seconds: float = Field(1.0, gt=0)


class CatalogSettings(_FromEnvironment):
    """CATALOG_STOCK_CACHE_SECONDS (default 1; 0: each page asks inventory for its own
    SKUs): how old the stock levels shown may be. CATALOG_PRODUCT_CACHE_SECONDS (default
    60): how long products read from the database are served from memory before they are
    read again in the background (they change only when the catalog is seeded or migrated)."""

    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    stock_cache_seconds: float = Field(1.0, ge=0)
    product_cache_seconds: float = Field(60.0, gt=0)


class SmtpSettings(_FromEnvironment):
    """EMAIL_SERVICE_SMTP_HOST (unset: emails are recorded, not delivered), _PORT (25),
    _USERNAME, _PASSWORD, _STARTTLS (false), _FROM."""

    model_config = SettingsConfigDict(env_prefix="EMAIL_SERVICE_SMTP_", extra="ignore")
    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    from_: str = Field("shop@agentshop.local", alias="EMAIL_SERVICE_SMTP_FROM")


# The gateway BFF's branch: variables GATEWAY_BFF_*.


class SheddingSettings(_FromEnvironment):
    """GATEWAY_BFF_MAX_OPEN_CHECKOUTS (100): a saga backlog above it sheds new checkouts;
    GATEWAY_BFF_BACKLOG_CHECK_SECONDS (1): how often the backlog is read;
    GATEWAY_BFF_SHED_RETRY_AFTER_SECONDS (2): the Retry-After of a shed checkout."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_", extra="ignore")
    max_open_checkouts: int = Field(100, ge=1)
    backlog_check_seconds: float = Field(1.0, gt=0)
    shed_retry_after_seconds: int = Field(2, ge=1)


class CatalogCacheSettings(_FromEnvironment):
    """GATEWAY_BFF_CATALOG_CACHE_SECONDS (default 1, 0 turns caching off; concurrent
    identical requests still share one call) and GATEWAY_BFF_CATALOG_CACHE_MB (default
    32): how long and how much of the catalog's answers the BFF keeps."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_", extra="ignore")

    catalog_cache_seconds: float = Field(1.0, ge=0)
    catalog_cache_mb: float = Field(32.0, gt=0)


class DeliverySettings(_FromEnvironment):
    """GATEWAY_BFF_CHECKOUT_CONFIRM_SECONDS (15): how long a checkout's saga may take to
    appear before its command is sent again; GATEWAY_BFF_CHECKOUT_FOLLOW_SECONDS (3600): how
    long a command is followed; GATEWAY_BFF_DELIVERY_CHECK_SECONDS (2): how often."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_", extra="ignore")
    checkout_confirm_seconds: float = Field(15.0, gt=0)
    checkout_follow_seconds: float = Field(3600.0, gt=0)
    delivery_check_seconds: float = Field(2.0, gt=0)


class IdempotencySettings(_FromEnvironment):
    """GATEWAY_BFF_IDEMPOTENCY_LEASE_SECONDS (30): how long a request in flight holds its key."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_", extra="ignore")
    idempotency_lease_seconds: float = Field(30.0, gt=0)


class AcpSettings(_FromEnvironment):
    """GATEWAY_BFF_ACP_COMPLETE_WAIT_SECONDS (default 20): how long `complete` waits for the
    saga's outcome before answering 503 (a retry with the same Idempotency-Key waits again);
    GATEWAY_BFF_ACP_MERCHANT_ID (default `agentshop`): the merchant delegated payment tokens
    must name."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_ACP_", extra="ignore")

    complete_wait_seconds: float = Field(20.0, gt=0)
    merchant_id: str = Field("agentshop", min_length=1, max_length=256)


class SigningSettings(_FromEnvironment):
    """GATEWAY_BFF_ACP_SIGNATURE_TOLERANCE_SECONDS (default 300): how far a signed request's
    Timestamp may be from the server's clock."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_ACP_", extra="ignore")

    signature_tolerance_seconds: float = Field(300.0, gt=0)


class WebhookSettings(_FromEnvironment):
    """GATEWAY_BFF_ACP_WEBHOOK_MAX_ATTEMPTS (default 12) attempts per event before it is
    dead-lettered; GATEWAY_BFF_ACP_WEBHOOK_BACKOFF_SECONDS (default 1) the first retry
    delay, doubling up to GATEWAY_BFF_ACP_WEBHOOK_MAX_BACKOFF_SECONDS (default 300);
    GATEWAY_BFF_ACP_WEBHOOK_POLL_SECONDS (default 0.5) how often due events are looked for;
    GATEWAY_BFF_ACP_WEBHOOK_TIMEOUT_SECONDS (default 5) per delivery."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_ACP_WEBHOOK_", extra="ignore")

    max_attempts: int = Field(12, ge=1)
    backoff_seconds: float = Field(1.0, gt=0)
    max_backoff_seconds: float = Field(300.0, gt=0)
    poll_seconds: float = Field(0.5, gt=0)
    timeout_seconds: float = Field(5.0, gt=0)


class BffSettings(BaseModel):
    """The gateway BFF's settings, by concern."""

    shedding: SheddingSettings = Field(default_factory=SheddingSettings)
    catalog_cache: CatalogCacheSettings = Field(default_factory=CatalogCacheSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    idempotency: IdempotencySettings = Field(default_factory=IdempotencySettings)
    acp: AcpSettings = Field(default_factory=AcpSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)


class Settings(_FromEnvironment):
    """Settings shared by every service. Each field maps to one environment variable."""

    # An empty variable (e.g. compose's `${X:-}`) means unset, so defaults apply.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    env: Literal["dev", "test", "prod"] = Field("dev", alias="AGENTSHOP_ENV")
    data_dir: Path = Field(Path(".agentshop"), alias="AGENTSHOP_DATA_DIR")
    log_level: str = Field("INFO", alias="AGENTSHOP_LOG_LEVEL")
    # auto: human-readable lines on a terminal, JSON lines otherwise (a file, a collector)
    log_format: Literal["json", "console", "auto"] = Field("auto", alias="AGENTSHOP_LOG_FORMAT")

    database_url: str | None = Field(None, alias="DATABASE_URL")
    db_pool_size: int = Field(10, alias="AGENTSHOP_DB_POOL_SIZE")

    kafka_bootstrap_servers: str | None = Field(None, alias="KAFKA_BOOTSTRAP_SERVERS")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: str | None = Field(None, alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str | None = Field(None, alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = Field(None, alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: Path | None = Field(None, alias="KAFKA_SSL_CAFILE")
    kafka_topic_partitions: int = Field(6, ge=1, alias="KAFKA_TOPIC_PARTITIONS")
    kafka_replication_factor: int = Field(1, ge=1, alias="KAFKA_REPLICATION_FACTOR")
    kafka_fetch_max_wait_ms: int = Field(500, ge=1, alias="KAFKA_FETCH_MAX_WAIT_MS")
    kafka_session_timeout_ms: int = Field(10_000, ge=1000, alias="KAFKA_SESSION_TIMEOUT_MS")
    kafka_idle_fetch_interval_ms: int = Field(0, ge=0, alias="KAFKA_IDLE_FETCH_INTERVAL_MS")
    # the longest aiokafka's fetch routine sleeps with nothing to fetch (aiokafka's
    # `consumer_timeout_ms`); what it waits for wakes it (docs/adr/0047)
    kafka_consumer_timeout_ms: int = Field(200, ge=10, alias="KAFKA_CONSUMER_TIMEOUT_MS")
    # handled records' offsets are committed this often, not after each batch (0: after
    # each batch); a crash redelivers what was handled since, and the inbox drops it
    kafka_commit_interval_ms: int = Field(1000, ge=0, alias="KAFKA_COMMIT_INTERVAL_MS")

    consumer_max_attempts: int = Field(3, ge=1, alias="AGENTSHOP_CONSUMER_MAX_ATTEMPTS")
    consumer_backoff_seconds: float = Field(0.2, ge=0, alias="AGENTSHOP_CONSUMER_BACKOFF_SECONDS")
    outbox_poll_seconds: float = Field(1.0, gt=0, alias="AGENTSHOP_OUTBOX_POLL_SECONDS")
    # PostgreSQL is the log of record (docs/adr/0020): sent outbox rows are kept this long,
    # and those sent this recently are sent again when the broker is found to have lost
    # its data (a new incarnation); the watch looks at the broker this often
    outbox_retention_hours: float = Field(24.0, gt=0, alias="AGENTSHOP_OUTBOX_RETENTION_HOURS")
    outbox_replay_seconds: float = Field(3600.0, ge=0, alias="AGENTSHOP_OUTBOX_REPLAY_SECONDS")
    broker_watch_seconds: float = Field(1.0, gt=0, alias="AGENTSHOP_BROKER_WATCH_SECONDS")
    # consumed message ids are kept this long: a redelivery older than that is not expected
    # (offsets are committed within seconds; a replayed outbox covers hours, not days)
    inbox_retention_hours: float = Field(168.0, gt=0, alias="AGENTSHOP_INBOX_RETENTION_HOURS")
    # the BFF answers a repeated Idempotency-Key with the first response for this long
    idempotency_key_retention_hours: float = Field(
        24.0, gt=0, alias="AGENTSHOP_IDEMPOTENCY_KEY_RETENTION_HOURS"
    )
    retention_interval_seconds: float = Field(
        600.0, gt=0, alias="AGENTSHOP_RETENTION_INTERVAL_SECONDS"
    )

    port_offset: int = Field(0, alias="AGENTSHOP_PORT_OFFSET")
    # `agentshop up` over several processes (docs/adr/0031): every process's wake-up
    # socket (separated by `os.pathsep`), and which of them is this process's
    wake_sockets: Annotated[tuple[str, ...], NoDecode] = Field((), alias="AGENTSHOP_WAKE_SOCKETS")
    wake_index: int = Field(0, ge=0, alias="AGENTSHOP_WAKE_INDEX")
    http_timeout_seconds: float = Field(5.0, gt=0, alias="AGENTSHOP_HTTP_TIMEOUT_SECONDS")
    # a call to a service of this same process goes straight to its app (docs/adr/0015)
    in_process_calls: bool = Field(True, alias="AGENTSHOP_IN_PROCESS_CALLS")
    # the cyclic garbage collector's thresholds once services run (docs/adr/0017);
    # (a JSON list; Python's own are [700, 10, 10])
    gc_thresholds: tuple[int, int, int] = Field((10_000, 20, 20), alias="AGENTSHOP_GC_THRESHOLDS")

    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8501"], alias="AGENTSHOP_CORS_ORIGINS"
    )
    rate_limit_per_minute: int = Field(600, ge=1, alias="AGENTSHOP_RATE_LIMIT_PER_MINUTE")
    # the edges of every HTTP API (docs/adr/0022-edges-and-trust.md)
    max_body_bytes: int = Field(1_000_000, ge=1024, alias="AGENTSHOP_MAX_BODY_BYTES")
    # internal service APIs answer only requests carrying it (required in prod; `agentshop up`
    # makes one when it is not set); unset in dev/test, they answer anyone
    service_token: SecretStr | None = Field(None, alias="AGENTSHOP_SERVICE_TOKEN")
    # failed sign-ins before a 429: per account, and per client address, in the window
    signin_failures_per_account: int = Field(
        10, ge=1, alias="AGENTSHOP_SIGNIN_FAILURES_PER_ACCOUNT"
    )
    signin_failures_per_address: int = Field(
        50, ge=1, alias="AGENTSHOP_SIGNIN_FAILURES_PER_ADDRESS"
    )
    signin_window_seconds: float = Field(900.0, gt=0, alias="AGENTSHOP_SIGNIN_WINDOW_SECONDS")

    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), alias="AGENTSHOP_JWT_SECRET")

    # the shopping assistant: no model configured = the offline deterministic parser
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    llm_model: str | None = Field(None, alias="AGENTSHOP_LLM_MODEL")
    llm_timeout_seconds: float = Field(20.0, gt=0, alias="AGENTSHOP_LLM_TIMEOUT_SECONDS")
    assistant_wait_seconds: float = Field(8.0, ge=0, alias="AGENTSHOP_ASSISTANT_WAIT_SECONDS")

    # the services' own branches (each read from its own prefix, above)
    checkout: CheckoutSettings = Field(default_factory=CheckoutSettings)
    payment: PaymentSettings = Field(default_factory=PaymentSettings)
    inventory: InventorySettings = Field(default_factory=InventorySettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    bff: BffSettings = Field(default_factory=BffSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)  # the email-service's

    # the mapping the tree was read from (None: `os.environ`, read when asked); the
    # per-service `<PREFIX>DATABASE_URL` and `<PREFIX>URL` are looked up in it
    _environment: Mapping[str, str] | None = PrivateAttr(None)

    @classmethod
    def from_env(cls, environment: Mapping[str, str], **values: Any) -> Settings:
        """The tree read from `environment` instead of `os.environ` (the `.env` file as
        ever); `values` win, as keyword arguments to `Settings(...)` do."""
        own = dict(environment)
        token = _ENVIRONMENT.set(own)
        try:
            settings = cls(**values)
        finally:
            _ENVIRONMENT.reset(token)
        settings._environment = own
        return settings

    @property
    def environment(self) -> Mapping[str, str]:
        """What the tree was read from: the mapping given to `from_env`, else `os.environ`."""
        return os.environ if self._environment is None else self._environment

    @field_validator("wake_sockets", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(path for path in value.split(os.pathsep) if path)
        return value

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> Settings:
        if self.env == "prod":
            if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                raise ValueError("AGENTSHOP_JWT_SECRET must be set when AGENTSHOP_ENV=prod")
            if not self.database_url and not _any_service_database_url(_environment()):
                raise ValueError("DATABASE_URL must be set when AGENTSHOP_ENV=prod")
            if not self.kafka_bootstrap_servers:
                raise ValueError("KAFKA_BOOTSTRAP_SERVERS must be set when AGENTSHOP_ENV=prod")
            token = self.service_token.get_secret_value() if self.service_token else ""
            if len(token) < 32:
                raise ValueError(
                    "AGENTSHOP_SERVICE_TOKEN (32 characters or more) must be set when "
                    "AGENTSHOP_ENV=prod"
                )
        # a replayed message must still find its id in the consumers' inboxes (docs/adr/0020)
        if self.outbox_replay_seconds > 3600 * min(
            self.outbox_retention_hours, self.inbox_retention_hours
        ):
            raise ValueError(
                "AGENTSHOP_OUTBOX_REPLAY_SECONDS must not exceed AGENTSHOP_OUTBOX_RETENTION_HOURS "
                "nor AGENTSHOP_INBOX_RETENTION_HOURS"
            )
        return self

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None and not _any_service_database_url(self.environment)

    @property
    def embedded_kafka(self) -> bool:
        return self.kafka_bootstrap_servers is None

    def service_database_url(self, env_prefix: str, database: str) -> str:
        """The SQLAlchemy (asyncpg) URL of one service's own database.

        `<PREFIX>DATABASE_URL` wins; otherwise the database is `database` on the
        server named by `DATABASE_URL`.
        """
        own = self.environment.get(f"{env_prefix}DATABASE_URL")
        if own:
            return to_asyncpg_url(own)
        if not self.database_url:
            raise RuntimeError(
                "No database configured: set DATABASE_URL, or start the embedded stack"
            )
        return to_asyncpg_url(self.database_url, database=database)

    def service_url(self, name: str) -> str:
        """Base URL of another service's HTTP API: `<PREFIX>URL`, else loopback on its port."""
        from commerce.services import SERVICES

        spec = SERVICES[name]
        own = self.environment.get(f"{spec.env_prefix}URL")
        if own:
            return own.rstrip("/")
        return f"http://127.0.0.1:{spec.port + self.port_offset}"


def _any_service_database_url(environment: Mapping[str, str]) -> bool:
    return any(k.endswith("_DATABASE_URL") and v for k, v in environment.items())


def to_asyncpg_url(url: str, database: str | None = None) -> str:
    """Normalise a PostgreSQL URL to the asyncpg driver, optionally naming another database."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
