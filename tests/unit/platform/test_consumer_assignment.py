"""A partition revoked between a fetch and what follows it must not stop the consumer."""

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
