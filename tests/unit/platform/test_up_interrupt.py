"""A signal during `agentshop up`'s start whose KeyboardInterrupt Python swallowed (raised
in logging's after-fork hook while a child process started) still ends the start."""

from __future__ import annotations

import contextlib
import signal

import pytest

from agentshop import run


def test_an_interrupt_lost_while_a_child_starts_still_stops_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(run, "_interrupted", False)
    monkeypatch.setattr(run, "_ignore_signals", lambda: None)  # keep this process's handlers
    run._stop_if_interrupted()  # nothing happened: the start goes on
    with contextlib.suppress(KeyboardInterrupt):  # as Python drops it in an after-fork hook
        run._interrupt(signal.SIGTERM, None)
    with pytest.raises(KeyboardInterrupt):
        run._stop_if_interrupted()  # at the next step of the start
