"""Alembic, one migration history per service, run programmatically.

Each service keeps `migrations/env.py` (two lines calling `run_env()`) and
`migrations/versions/`. `upgrade()` creates the service's database when missing
and upgrades it to head; running it again changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from commerce.platform.db import service_metadata

PLATFORM_TABLES = ("outbox", "inbox", "dead_letter")


def alembic_config(migrations: Path, url: str, metadata: MetaData) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["target_metadata"] = metadata
    return cfg


def run_env() -> None:
    """Body of every service's `migrations/env.py` (online mode, asyncpg)."""
    cfg = context.config
    metadata: MetaData = cfg.attributes["target_metadata"]
    url = cfg.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as conn:
            await conn.run_sync(do_run)
        await engine.dispose()

    connection = cfg.attributes.get("connection")
    if connection is not None:
        do_run(connection)
    else:
        asyncio.run(run_async())


async def upgrade(migrations: Path, url: str, metadata: MetaData, revision: str = "head") -> None:
    """Upgrade one service database (which must exist) to `revision`."""
    cfg = alembic_config(migrations, url, metadata)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Connection) -> None:
                cfg.attributes["connection"] = sync_conn
                command.upgrade(cfg, revision)

            await conn.run_sync(run)
    finally:
        await engine.dispose()


def create_platform_tables() -> None:
    """For a service's first migration: the outbox, inbox and dead-letter tables (v1)."""
    metadata = service_metadata()
    metadata.create_all(op.get_bind(), tables=[metadata.tables[n] for n in PLATFORM_TABLES])


def create_initial_schema(metadata: MetaData) -> None:
    """A service's first migration: every table of its metadata as declared at that revision.

    Later revisions must use explicit `op.*` operations; the drift test compares the
    result of all revisions with the models, so a model change without a migration fails.
    """
    metadata.create_all(op.get_bind())


def drop_initial_schema(metadata: MetaData) -> None:
    metadata.drop_all(op.get_bind())


def drop_platform_tables() -> None:
    for name in reversed(PLATFORM_TABLES):
        op.drop_table(name)
