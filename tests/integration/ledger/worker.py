"""Runs the ledger service in its own process, so a test can SIGKILL it mid-stream.

    python -m tests.integration.ledger.worker DATABASE_URL TOPIC NAME [BATCH_RECORDS]

`BATCH_RECORDS` bounds the records a partition's batch (one transaction) takes, so a
stream is handled in many commits and a kill lands between them."""

from __future__ import annotations

import asyncio
import sys

from commerce.platform.kafka import make_producer
from commerce.platform.logging import configure_logging
from commerce.platform.service import ServiceRuntime
from commerce.platform.settings import get_settings
from tests.integration.ledger import ledger_service


async def main(database_url: str, topic: str, name: str, batch_records: str = "500") -> None:
    settings = get_settings()
    producer = make_producer(settings)
    await producer.start()
    runtime = ServiceRuntime(
        ledger_service(topic, name), settings, producer, database_url=database_url
    )
    assert runtime.consumer is not None
    runtime.consumer.batch_records = int(batch_records)
    await runtime.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    configure_logging("WARNING", "console")
    asyncio.run(main(*sys.argv[1:5]))
