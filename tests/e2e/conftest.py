"""Every end-to-end test runs under the network-in-transaction guard (tests/guard.py); the
web UI's tests reach the stack's BFF."""

from collections.abc import Iterator

import pytest

from tests.conftest import ServiceStack
from tests.guard import _io_guard_installed, no_network_in_transactions

__all__ = ["_io_guard_installed", "no_network_in_transactions"]


@pytest.fixture
def bff_url(stack: ServiceStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The stack's BFF, where the web UI under test (streamlit's AppTest) sends its calls."""
    url = stack.settings.service_url("gateway-bff")
    monkeypatch.setenv("GATEWAY_BFF_URL", url)
    yield url
