"""Logs are JSON lines that carry the correlation id bound to the current task."""

from __future__ import annotations

import json

import pytest
import structlog

from commerce.platform.logging import bound, configure_logging


def test_json_logs_carry_the_bound_correlation_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    try:
        log = structlog.get_logger("agentshop.test")
        with bound(correlation_id="chk-42"):
            log.info("payment.captured", amount_cents=1299)
        log.info("outside")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    finally:
        configure_logging("WARNING", "console")
    inside, outside = lines[-2], lines[-1]
    assert inside["event"] == "payment.captured"
    assert inside["correlation_id"] == "chk-42"
    assert inside["amount_cents"] == 1299
    assert inside["level"] == "info" and "timestamp" in inside
    assert "correlation_id" not in outside
