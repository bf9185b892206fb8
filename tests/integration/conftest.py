"""Every integration test runs under the network-in-transaction guard (tests/guard.py)."""

from tests.guard import _io_guard_installed, no_network_in_transactions

__all__ = ["_io_guard_installed", "no_network_in_transactions"]
