"""Small helpers for tasks that several callers share."""

from __future__ import annotations

import asyncio
from typing import Any


def observe(task: asyncio.Task[Any]) -> None:
    """A done callback for a shared task: mark its error as retrieved, so asyncio does not
    report it as never retrieved when every caller that awaited it went away first (the
    callers that stayed got it; the task's owner logs it where that matters)."""
    if not task.cancelled():
        task.exception()


def raise_if_cancelled(error: BaseException) -> None:
    """In an `except Exception` of a loop that goes round again: when the current task
    is being cancelled, raise the cancellation (from `error`) instead. Cleanup on the way
    out of a cancellation can fail in its own right and raise in place of the
    `CancelledError` (a session closing on a connection the cancel closed;
    `Database.transaction` already answers with the cancellation); a loop that took that
    for an ordinary failure would go on after it was told to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error
