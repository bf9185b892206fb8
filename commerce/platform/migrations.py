"""Alembic, one migration history per service, run programmatically.

Each service keeps `migrations/env.py` (two lines calling `run_env()`) and
`migrations/versions/`: explicit, frozen revisions (ADR 18), none of which imports the
models; `tests/integration/test_migrations.py` proves they build what the models declare. `upgrade()` creates the service's database when missing
and upgrades it to head; running it again changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


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
