"""A check that no network call starts while the caller holds a database transaction.

A transaction that waits on another service holds its row locks, its pooled connection
and (in a consumer batch) the locks of every record before it for as long as that
service takes to answer, or to time out when it is away (docs/adr/0032). The rule is
"I/O first, then a short transaction", or "record the intent, send after commit".

`install()` watches, in this process:
- which pooled SQLAlchemy connections each task (and the threads it hands work to, which
  run in a copy of its context) has checked out, and whether the connection has an open
  transaction (as the server last told the driver);
- the calls that wait on the network or the clock: `httpx.AsyncClient.send` (every call
  to another service, in process or over TCP, goes through it), `httpx.Client.send`,
  `smtplib.SMTP.connect` and `asyncio.sleep` with a positive delay.
Such a call made while the same task holds an open transaction is recorded as a
`Violation` (and logged); the test suite fails a test during which one was recorded
(tests/integration/conftest.py). Nothing is raised into the code under watch, so what it
does is unchanged; the check costs a context-variable read per call.
"""

from __future__ import annotations

import asyncio
import contextvars
import smtplib
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from sqlalchemy import event
from sqlalchemy.pool import Pool

log = structlog.get_logger(__name__)

_HELD_KEY = "agentshop.io_guard.held"


@dataclass(eq=False)
class _Held:
    """The connections one task has checked out of a pool."""

    task: asyncio.Task[Any] | None
    connections: list[Any] = field(default_factory=list)

    def in_transaction(self) -> bool:
        # What the server last told the driver: a transaction SQLAlchemy's asyncpg adapter
        # started (lazily, on the first statement) or one `Database.transaction()` started
        # on an AUTOCOMMIT connection; a read outside a transaction holds none.
        # A closed connection holds none, whatever its driver last heard (a query
        # cancelled mid-flight closes it, and its checkin may never be seen).
        return any(
            not c.driver_connection.is_closed() and c.driver_connection.is_in_transaction()
            for c in self.connections
        )


@dataclass(frozen=True)
class Violation:
    call: str
    task: str
    stack: str

    def __str__(self) -> str:
        return f"{self.call} while task {self.task!r} holds a database transaction:\n{self.stack}"


_held: contextvars.ContextVar[_Held | None] = contextvars.ContextVar(
    "agentshop_io_guard_held", default=None
)
violations: list[Violation] = []
_installed: list[Callable[[], None]] = []


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # a worker thread: no running loop
        return None


def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    # Runs in the task that checks the connection out (SQLAlchemy's greenlet shares the
    # task's context), so the context variable set here is the task's.
    task = _current_task()
    held = _held.get()
    if held is None or held.task is not task:  # a child task inherits its parent's value
        held = _Held(task)
        _held.set(held)
    held.connections.append(dbapi_connection)
    record.info[_HELD_KEY] = held


def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    held: _Held | None = record.info.pop(_HELD_KEY, None)
    if held is not None:
        with suppress(ValueError):
            held.connections.remove(dbapi_connection)


def check(call: str) -> None:
    """Record a violation when the current task (or the task this thread works for)
    holds an open database transaction."""
    held = _held.get()
    if held is None or not held.connections:
        return
    task = _current_task()
    if task is not None and held.task is not task:
        return  # inherited from the task that created this one: not ours
    if not held.in_transaction():
        return
    owner = held.task.get_name() if held.task is not None else "?"
    stack = "".join(traceback.format_stack(limit=14)[:-2])
    violations.append(Violation(call, owner, stack))
    log.error("io_guard.network_call_in_transaction", call=call, task=owner)


def _wrap_async(owner: Any, name: str, label: Callable[[tuple[Any, ...]], str]) -> None:
    original = getattr(owner, name)

    async def guarded(*args: Any, **kwargs: Any) -> Any:
        check(label(args))
        return await original(*args, **kwargs)

    setattr(owner, name, guarded)
    _installed.append(lambda: setattr(owner, name, original))


def _wrap_sync(owner: Any, name: str, label: Callable[[tuple[Any, ...]], str]) -> None:
    original = getattr(owner, name)

    def guarded(*args: Any, **kwargs: Any) -> Any:
        check(label(args))
        return original(*args, **kwargs)

    setattr(owner, name, guarded)
    _installed.append(lambda: setattr(owner, name, original))


def _request_label(args: tuple[Any, ...]) -> str:
    request = args[1] if len(args) > 1 else None
    if isinstance(request, httpx.Request):
        return f"HTTP {request.method} {request.url}"
    return "HTTP request"


def _install_sleep() -> None:
    original = asyncio.sleep

    async def guarded(delay: float, result: Any = None) -> Any:
        if delay > 0:
            check(f"asyncio.sleep({delay})")
        return await original(delay, result)

    asyncio.sleep = guarded
    _installed.append(lambda: setattr(asyncio, "sleep", original))


def install() -> None:
    """Start watching (idempotent)."""
    if _installed:
        return
    event.listen(Pool, "checkout", _on_checkout)
    event.listen(Pool, "checkin", _on_checkin)
    _installed.append(lambda: event.remove(Pool, "checkout", _on_checkout))
    _installed.append(lambda: event.remove(Pool, "checkin", _on_checkin))
    _wrap_async(httpx.AsyncClient, "send", _request_label)
    _wrap_sync(httpx.Client, "send", _request_label)
    _wrap_sync(smtplib.SMTP, "connect", lambda args: f"SMTP connect {args[1:3]}")
    _install_sleep()


def uninstall() -> None:
    while _installed:
        _installed.pop()()


@contextmanager
def watching() -> Iterator[list[Violation]]:
    """The violations recorded while the block runs, taken out of `violations` (the guard
    is installed for the block if need be): for checking the guard itself."""
    was_installed = bool(_installed)
    install()
    start = len(violations)
    found: list[Violation] = []
    try:
        yield found
    finally:
        found.extend(violations[start:])
        del violations[start:]
        if not was_installed:
            uninstall()
