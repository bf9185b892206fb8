"""Runs the ledger service in its own process, so a test can SIGKILL it mid-stream."""

from __future__ import annotations

import asyncio
import sys

from commerce.platform.kafka import make_producer
from commerce.platform.logging import configure_logging
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import get_settings
from tests.integration.ledger import ledger_service


async def main(database_url: str, topic: str, name: str) -> None:
    settings = get_settings()
    producer = make_producer(settings)
    await producer.start()
    runtime = ServiceRuntime(
        ledger_service(topic, name), settings, producer, database_url=database_url
    )
    await runtime.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    configure_logging("WARNING", "console")
    asyncio.run(main(*sys.argv[1:4]))
