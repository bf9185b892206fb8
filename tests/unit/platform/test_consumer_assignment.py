"""What the consumer takes for a passing condition, not a failure: a partition revoked
between a fetch and what follows it, a database starting up or shutting down."""

from __future__ import annotations

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from commerce.platform import consumer as consuming


async def test_a_partition_without_an_assignment_is_skipped_not_fatal() -> None:
    # a consumer without an assignment, as one is between the revocation and the
    # assignment of a rebalance: aiokafka refuses these calls (an AssertionError)
    kafka = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:1")
    tp = TopicPartition("orders", 0)
    with pytest.raises(consuming.NOT_ASSIGNED):
        kafka.pause(tp)
    with pytest.raises(consuming.NOT_ASSIGNED):
        kafka.highwater(tp)
    consuming._pause(kafka, [tp])
    consuming._resume(kafka, [tp])
    assert consuming._highwater(kafka, tp) is None


def test_a_database_starting_up_or_shutting_down_is_unavailable_not_a_failure() -> None:
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    def wrapped(cause: Exception) -> DBAPIError:
        # SQLAlchemy's asyncpg adapter raises its own error with the driver's as the cause
        adapted = Exception("adapted")
        adapted.__cause__ = cause
        return DBAPIError("SELECT 1", {}, adapted)

    for cause in (
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection due to crash"),
    ):
        assert consuming.is_unavailable(wrapped(cause)), cause
    assert not consuming.is_unavailable(wrapped(asyncpg.UniqueViolationError("duplicate")))
