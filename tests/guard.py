"""The network-in-transaction guard as pytest fixtures (docs/adr/0032).

`tests/integration/conftest.py` and `tests/e2e/conftest.py` use them for every test: a
call to another service, an SMTP connection or a sleep started while the same task holds
an open database transaction fails the test during which it happened, with the stack of
the call (`commerce.platform.io_guard`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from commerce.platform import io_guard


@pytest.fixture(scope="session", autouse=True)
def _io_guard_installed() -> Iterator[None]:
    io_guard.install()
    yield
    io_guard.uninstall()


@pytest.fixture(autouse=True)
def no_network_in_transactions(_io_guard_installed: None) -> Iterator[None]:
    start = len(io_guard.violations)
    yield
    found = io_guard.violations[start:]
    if found:
        shown = "\n\n".join(str(v) for v in found[:3])
        pytest.fail(
            f"{len(found)} network call(s) made inside a database transaction:\n{shown}",
            pytrace=False,
        )
