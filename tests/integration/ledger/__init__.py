"""A tiny service used to test the platform: credits to accounts, one row per message."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts import Command, Event
from commerce.platform.consumer import Handler, MessageContext
from commerce.platform.db import service_metadata
from commerce.platform.service import Service
from commerce.platform.telemetry import current_trace_id

TOPIC = "test.ledger"

metadata = service_metadata()
entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(50), nullable=False),
    Column("amount", Integer, nullable=False),
    Column("message_id", UUID(as_uuid=True), nullable=False),
)


class Credit(Command, topic=TOPIC):
    account: str
    amount: int
    poison: bool = False

    def partition_key(self) -> str | None:
        return self.account


class Credited(Event, topic=TOPIC + ".events"):
    account: str
    amount: int


TRACE_IDS: dict[str, str | None] = {}
"""account -> the trace id the handler ran under (to test trace propagation)."""

BLOCKED_ACCOUNTS: set[str] = set()
"""Accounts whose credits fail for now (a fault that is fixed later, then replayed)."""

WHILE_HANDLING: list[Callable[[Credit], None]] = []
"""Called with each credit as its handler runs (to look at the consumer meanwhile)."""


async def credit(message: Credit, ctx: MessageContext) -> None:
    if message.poison or message.account in BLOCKED_ACCOUNTS:
        raise RuntimeError(f"cannot credit {message.account}")
    TRACE_IDS[message.account] = current_trace_id()
    for look in WHILE_HANDLING:
        look(message)
    await ctx.session.execute(
        entries.insert().values(
            account=message.account, amount=message.amount, message_id=ctx.envelope.message_id
        )
    )


def changes_something(message: Credit) -> bool:
    """A credit of nothing changes no balance: the consumer passes it over (`wanted`)."""
    return message.amount != 0 or message.poison


def ledger_service(topic: str, name: str = "ledger") -> Service:
    return Service(
        name=name,
        metadata=metadata,
        migrations=Path(__file__).parent / "migrations",
        handlers=[Handler(Credit, credit, topic=topic, wanted=changes_something)],
    )


async def balances(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """account -> (number of entries, sum of amounts)."""
    rows = await session.execute(
        select(entries.c.account, func.count(), func.sum(entries.c.amount)).group_by(
            entries.c.account
        )
    )
    return {account: (int(n), int(total)) for account, n, total in rows}
