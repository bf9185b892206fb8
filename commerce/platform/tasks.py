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
