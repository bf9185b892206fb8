"""Every service's Alembic history builds exactly the schema its code declares.

The schema is compared the way PostgreSQL sees it (columns with their types, defaults and
nullability, every index definition with its predicate, every constraint), between a
database built by the migrations and one built from the models. Databases that users
already have (`tests/integration/migrations_legacy/`, dumped from what `agentshop migrate`
built before the baselines were frozen) must upgrade to the same schema and keep their rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from commerce.platform import migrations
from commerce.platform.stack import load_service
from commerce.services import SERVICES

pytestmark = pytest.mark.integration

LEGACY = Path(__file__).parent / "migrations_legacy"
NewDatabase = Callable[[str], Awaitable[str]]

SCHEMA_QUERIES = {
    "column": """
        SELECT c.relname::text || '.' || a.attname::text || ' ' || format_type(a.atttypid, a.atttypmod)
               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
               || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
               || CASE WHEN a.attidentity <> '' THEN ' identity ' || a.attidentity::text ELSE '' END
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0
          AND NOT a.attisdropped AND c.relname <> 'alembic_version'
    """,
    "index": """
        SELECT indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> 'alembic_version'
    """,
    "constraint": """
        SELECT c.relname::text || ' ' || k.conname::text || ' ' || pg_get_constraintdef(k.oid)
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname <> 'alembic_version' AND k.contype <> 'n'
    """,
    "extension": "SELECT extname FROM pg_extension",
}


async def schema_of(url: str) -> dict[str, set[str]]:
    """What PostgreSQL holds in the public schema, as comparable lines per kind."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return {
                kind: {row[0] for row in await conn.execute(text(query))}
                for kind, query in SCHEMA_QUERIES.items()
            }
    finally:
        await engine.dispose()


async def build_from_models(url: str, metadata: MetaData, extensions: set[str]) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            for extension in sorted(extensions - {"plpgsql"}):
                await conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{extension}"'))
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


async def execute(url: str, *statements: str) -> list[Any]:
    """Run statements (each may be a script of several) in one transaction; the last one's rows."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            for statement in statements[:-1]:
                await raw.execute(statement)
            return [tuple(row) for row in await raw.fetch(statements[-1])]
    finally:
        await engine.dispose()


async def alembic(url: str, name: str, action: Callable[[Any], None]) -> None:
    service = load_service(name)
    config = migrations.alembic_config(service.migrations, url, service.metadata)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Connection) -> None:
                config.attributes["connection"] = sync_conn
                action(config)

            await conn.run_sync(run)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_migrations_build_the_models_schema_and_run_down_and_up(
    name: str, new_database: NewDatabase
) -> None:
    service = load_service(name)
    migrated = await new_database(service.spec.database[:20])
    await migrations.upgrade(service.migrations, migrated, service.metadata)
    await migrations.upgrade(service.migrations, migrated, service.metadata)  # idempotent
    after_upgrade = await schema_of(migrated)

    from_models = await new_database(service.spec.database[:20])
    await build_from_models(from_models, service.metadata, after_upgrade["extension"])
    expected = await schema_of(from_models)
    for kind in ("column", "index", "constraint"):
        assert after_upgrade[kind] == expected[kind], (
            f"{name}: the migrations build other {kind} definitions than the models declare; "
            f"only in migrations: {sorted(after_upgrade[kind] - expected[kind])}, "
            f"only in models: {sorted(expected[kind] - after_upgrade[kind])}. "
            "A model change needs a new revision."
        )

    engine = create_async_engine(migrated, poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn: Connection) -> list[Any]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
                return list(compare_metadata(context, service.metadata))

            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()

    await alembic(migrated, name, lambda config: command.downgrade(config, "base"))
    remaining = await execute(
        migrated,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> 'alembic_version'",
    )
    assert remaining == [], f"{name}: downgrade to base left tables behind: {remaining}"
    await migrations.upgrade(service.migrations, migrated, service.metadata)
    assert await schema_of(migrated) == after_upgrade


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_history_has_one_head_and_imports_no_models(name: str) -> None:
    service = load_service(name)
    config = migrations.alembic_config(service.migrations, "postgresql://unused", MetaData())
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, f"{name}: several heads {script.get_heads()}"
    for path in (service.migrations / "versions").glob("*.py"):
        source = path.read_text()
        assert ".tables import" not in source, f"{path}: a revision must not import the models"
        assert "create_initial_schema" not in source, f"{path}: a revision must be explicit DDL"


def legacy_head(sql: str) -> str:
    return "0003" if "assistant_messages" in sql else "0001"


@pytest.mark.parametrize("name", sorted(SERVICES))
async def test_a_database_built_before_the_frozen_baselines_upgrades_without_loss(
    name: str, new_database: NewDatabase
) -> None:
    service = load_service(name)
    sql = (LEGACY / f"{name}.sql").read_text()
    legacy = await new_database(service.spec.database[:20])
    message_id = uuid.uuid4()
    await execute(
        legacy,
        sql,
        f"INSERT INTO alembic_version VALUES ('{legacy_head(sql)}')",
        "INSERT INTO outbox (message_id, topic, key, type, value) "
        f"VALUES ('{message_id}', 'orders', 'k', 'OrderCreated', '\\x7b7d')",
        'INSERT INTO inbox (consumer, message_id, type, topic, partition, "offset") '
        f"VALUES ('{name}', '{message_id}', 'OrderCreated', 'orders', 0, 42)",
    )

    await migrations.upgrade(service.migrations, legacy, service.metadata)

    fresh = await new_database(service.spec.database[:20])
    await migrations.upgrade(service.migrations, fresh, service.metadata)
    assert await schema_of(legacy) == await schema_of(fresh)
    kept = await execute(
        legacy,
        f"SELECT (SELECT count(*) FROM outbox WHERE message_id = '{message_id}') "
        f"+ (SELECT count(*) FROM inbox WHERE message_id = '{message_id}')",
    )
    assert kept == [(2,)]


async def test_a_checkout_database_from_before_the_pricing_state_gets_the_current_deadline_index(
    new_database: NewDatabase,
) -> None:
    """The deadline index once had no `pricing` in its predicate (and no revision changed it)."""
    sql = (LEGACY / "checkout-orchestrator.sql").read_text()
    old = sql.replace("'pricing'::character varying, ", "")
    assert old != sql
    database = await new_database("checkout_old")
    await execute(database, old, "INSERT INTO alembic_version VALUES ('0001')")
    service = load_service("checkout-orchestrator")
    await migrations.upgrade(service.migrations, database, service.metadata)
    [(definition,)] = await execute(
        database, "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_sagas_deadline'"
    )
    assert "'pricing'" in definition


async def test_a_refund_database_of_the_previous_release_keeps_its_refunds_as_plain_ones(
    new_database: NewDatabase,
) -> None:
    """Revision 0002 (a refund may cancel its order) on a database at 0001, the head the
    release before it shipped: every refund stays, marked as not cancelling its order."""
    service = load_service("refund")
    database = await new_database("refund_0001")
    await alembic(database, "refund", lambda config: command.upgrade(config, "0001"))
    refund_id = uuid.uuid4()
    await execute(
        database,
        "INSERT INTO refunds (refund_id, order_id, user_id, amount_cents, currency, status,"
        f" reason) VALUES ('{refund_id}', '{uuid.uuid4()}', 'alice', 500, 'USD', 'succeeded',"
        " 'one pack too many')",
    )

    await migrations.upgrade(service.migrations, database, service.metadata)

    kept = await execute(
        database,
        f"SELECT amount_cents, status, cancels_order FROM refunds WHERE refund_id = '{refund_id}'",
    )
    assert kept == [(500, "succeeded", False)]
    assert await execute(database, "SELECT version_num FROM alembic_version") == [("0002",)]
