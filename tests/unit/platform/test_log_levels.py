"""Logs for people on a terminal, JSON for machines; calls between services only at DEBUG."""

from __future__ import annotations

import logging
import sys

import pytest

from commerce.platform.logging import configure_logging, resolve_format


def test_auto_is_json_off_a_terminal_and_console_on_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert resolve_format("auto") == "json"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert resolve_format("auto") == "console"
    assert resolve_format("json") == "json" and resolve_format("console") == "console"


def test_per_call_and_lifecycle_lines_show_only_at_debug() -> None:
    try:
        configure_logging("INFO", "json")
        for name in ("httpx", "uvicorn.error", "uvicorn.access"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
            assert logging.getLogger(name).isEnabledFor(logging.WARNING), name
        configure_logging("DEBUG", "json")
        assert logging.getLogger("httpx").isEnabledFor(logging.DEBUG)
    finally:
        configure_logging("WARNING", "console")
