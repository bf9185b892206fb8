"""Per-service database access: async engines, sessions, and the tables every service has.

Each service owns one PostgreSQL database. Its metadata includes the platform's
`outbox`, `inbox` and `dead_letter` tables, so writes to them join the service's
own transactions.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_incrementing,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


@dataclass(frozen=True)
class PlatformTables:
    """The tables the platform keeps in every service database."""

    outbox: Table
    inbox: Table
    dead_letter: Table

    @classmethod
    def of(cls, metadata: MetaData) -> PlatformTables:
        return cls(
            outbox=metadata.tables["outbox"],
            inbox=metadata.tables["inbox"],
            dead_letter=metadata.tables["dead_letter"],
        )


def service_metadata() -> MetaData:
    """A service's MetaData, with the outbox, inbox and dead-letter tables already in it."""
    metadata = MetaData(naming_convention=NAMING)
    Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("message_id", UUID(as_uuid=True), nullable=False, unique=True),
        Column("topic", String(200), nullable=False),
        Column("key", String(200)),
        Column("type", String(200), nullable=False),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("sent_at", DateTime(timezone=True)),
        Index("ix_outbox_pending", "id", postgresql_where=text("sent_at IS NULL")),
    )
    Table(
        "inbox",
        metadata,
        Column("consumer", String(200), primary_key=True),
        Column("message_id", UUID(as_uuid=True), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Table(
        "dead_letter",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("consumer", String(200), nullable=False),
        Column("message_id", UUID(as_uuid=True)),
        Column("type", String(200)),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("key", String(200)),
        Column("value", LargeBinary),
        Column("error", Text, nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("replayed_at", DateTime(timezone=True)),
    )
    return metadata


async def locked_row(
    session: AsyncSession, column: Column[Any], value: Any
) -> dict[str, Any] | None:
    """The one row of `column`'s table whose `column` is `value`, locked FOR UPDATE until
    the transaction ends (a hot statement: see `fetch`)."""
    sql = f'SELECT * FROM "{column.table.name}" WHERE "{column.name}" = $1 FOR UPDATE'
    rows = await fetch(session, sql, value)
    return as_dict(rows[0]) if rows else None


async def execute(session: AsyncSession, sql: str, *args: Any) -> int:
    """Run `sql` (`$n` parameters) in `session`'s transaction as `fetch` does; the number
    of rows it wrote."""
    pg: asyncpg.Connection | None = session.info.get(_DRIVER)
    if pg is not None:
        status: str = await pg.execute(sql, *args)  # e.g. "UPDATE 1", "INSERT 0 2"
        return int(status.rsplit(" ", 1)[-1]) if status[-1:].isdigit() else 0
    conn = await session.connection()
    return int(getattr(await conn.exec_driver_sql(sql, args), "rowcount", 0) or 0)


def columns(table: Table) -> str:
    """A table's columns, for a hot statement's select list."""
    return ", ".join(c.name for c in table.c)


def as_dict(row: Any) -> dict[str, Any]:
    """A row of `fetch` (asyncpg's record, or SQLAlchemy's row) as a dict by column name."""
    mapping = getattr(row, "_mapping", None)
    return dict(mapping if mapping is not None else row)


# A pooled connection unused for this long is pinged before it is handed out (a database
# restart leaves the pool holding dead connections). `pool_pre_ping` pinged on every
# checkout: a round trip per transaction, ~6 % of the CPU of a checkout load run.
IDLE_PING_SECONDS = 1.0
_LAST_USED = "agentshop.last_used"


def _ping_when_idle(engine: AsyncEngine) -> None:
    pool, dialect = engine.sync_engine.pool, engine.sync_engine.dialect

    @event.listens_for(pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces it with a new connection
            raise DisconnectionError(f"pooled connection is gone: {exc}") from exc

    @event.listens_for(pool, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()


_DRIVER = "agentshop.driver"
# What asyncpg raises when the connection is gone, or in a state it cannot leave: the
# client's own errors, the network's, and the server's "connection" and shutdown classes.
_LOST = (
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    OSError,
)
_commit_hooks: list[Callable[[AsyncSession], None]] = []


def on_commit(hook: Callable[[AsyncSession], None]) -> Callable[[AsyncSession], None]:
    """Run `hook(session)` after every `Database.transaction()` that commits (what
    SQLAlchemy's `after_commit` session event is for sessions that commit themselves)."""
    _commit_hooks.append(hook)
    return hook


class Database:
    """One service's engine and session factory."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        pool: dict[str, Any] = {
            # At most 2 x `pool_size` connections at once, as before, but all of them kept
            # once opened: an overflow connection was closed again on its return, so a
            # burst above `pool_size` opened (TLS attempt, startup) and prepared every
            # statement anew on each checkout; now the pool grows to the burst and stays.
            "pool_size": 2 * pool_size,
            "max_overflow": 0,
            # The most recently used connection first: under light load a few connections
            # stay warm (no idle ping) instead of every pooled one taking its turn.
            "pool_use_lifo": True,
            "echo": echo,
        }
        self.engine: AsyncEngine = create_async_engine(url, **pool)
        # Connections SQLAlchemy never starts a transaction on: reads outside a transaction
        # (each statement is its own, one round trip instead of BEGIN, the read and
        # ROLLBACK) and `transaction()`, which starts asyncpg's. A pool of their own, so
        # a checkout does not switch the connection's isolation level there and back.
        self._autocommit: AsyncEngine = create_async_engine(
            url, isolation_level="AUTOCOMMIT", **pool
        )
        for engine in (self.engine, self._autocommit):
            _ping_when_idle(engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        The transaction is asyncpg's own, on a connection SQLAlchemy holds in AUTOCOMMIT
        (so it starts none of its own): the session's statements run in it as before, and
        a hot statement can run in it through `fetch(session, ...)` without SQLAlchemy's
        work per statement. The hooks of `on_commit` run once the commit is done
        (docs/adr/0045).

        A cancellation that reaches a running statement closes the connection, so the
        rollback on the way out fails; the caller is told of the cancellation, not of
        that failure (which would let a loop that retries take it for an error)."""
        async with self._driven() as (session, pg):
            try:
                async with pg.transaction():
                    yield session
            except asyncpg.InterfaceError as exc:
                if isinstance(exc.__context__, asyncio.CancelledError) and pg.is_closed():
                    raise exc.__context__ from exc
                raise
        for hook in _commit_hooks:
            hook(session)

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncSession]:
        """A session without a transaction, for reads: every statement sees what was
        committed when it began (as each statement of a READ COMMITTED transaction does),
        nothing is locked and nothing to roll back. For one or a few SELECTs on a hot path,
        or a single statement that writes and commits on its own; not for writes that must
        commit together, `FOR UPDATE`, or transaction-local settings
        (`set_config(..., true)`), which need `transaction()` or `sessions()`."""
        async with self._driven() as (session, _):
            yield session

    @asynccontextmanager
    async def _driven(self) -> AsyncIterator[tuple[AsyncSession, asyncpg.Connection]]:
        """A session on a pooled AUTOCOMMIT connection, and its asyncpg connection (which
        `fetch` and `execute` use). A connection found lost, or left in a transaction (its
        rollback failed), is invalidated rather than pooled again: SQLAlchemy does that for
        its own statements only, and a connection used again within `IDLE_PING_SECONDS` is
        not pinged."""
        async with self._autocommit.connect() as conn:
            # the pooled connection is checked out already: read its driver's connection
            # without another trip through a greenlet (`get_raw_connection()`)
            assert conn.sync_connection is not None
            pg: asyncpg.Connection = conn.sync_connection.connection.driver_connection
            session = AsyncSession(bind=conn, expire_on_commit=False)
            session.info[_DRIVER] = pg
            lost = False
            try:
                yield session, pg
            except _LOST:
                lost = True
                raise
            finally:
                # a session only `fetch` and `execute` used holds nothing to close (they run
                # on `pg`): closing it would be one more trip through a greenlet
                if session.in_transaction() or session.identity_map:
                    await session.close()
                if lost or pg.is_closed() or pg.is_in_transaction():
                    await conn.invalidate()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self._autocommit.dispose()


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[Any]:
    """The rows of `sql` (a statement with `$n` parameters), run in `session`'s transaction.

    For the hottest statements: in a session of `Database.transaction()` or `reads()` it
    runs on asyncpg directly, without SQLAlchemy's work per statement (docs/adr/0045); in
    any other session through SQLAlchemy. Rows are indexed by position (`as_dict` gives
    them by name); JSON goes in as text and comes out decoded (SQLAlchemy's codecs on the
    connection)."""
    pg: asyncpg.Connection | None = session.info.get(_DRIVER)
    if pg is not None:
        rows: list[Any] = await pg.fetch(sql, *args)
        return rows
    conn = await session.connection()
    return list((await conn.exec_driver_sql(sql, args)).all())


_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The plain libpq-style DSN asyncpg accepts, from a `postgresql+asyncpg://` URL."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def ensure_database(server_url: str, database: str, retries: int = 3) -> bool:
    """Create `database` on the server if it does not exist. Returns True when created."""
    if not _IDENT.match(database):
        raise ValueError(f"invalid database name {database!r}")
    conn = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if exists:
            return False
        if retries < 1:
            raise RuntimeError(f"could not create database {database}")
        try:
            # template1 busy with a concurrent CREATE DATABASE: wait 0.2 s, 0.4 s, ... and retry
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(asyncpg.ObjectInUseError),
                stop=stop_after_attempt(retries),
                wait=wait_incrementing(start=0.2, increment=0.2),
            ):
                with attempt:
                    try:
                        await conn.execute(f'CREATE DATABASE "{database}"')
                    except asyncpg.DuplicateDatabaseError:
                        return False
        except RetryError as exc:
            raise RuntimeError(f"could not create database {database}") from exc
        return True
    finally:
        await conn.close()
