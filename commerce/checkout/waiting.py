"""Requests that wait for a saga to change, woken by the orchestrator's own commits.

The orchestrator's handlers and sweeper notify `CHANGES` once a transaction that grew a
saga's timeline (or created or moved the saga) has committed; `GET /checkouts/{id}?wait=`
and `GET /checkouts/{id}/events?after=&wait=` wait on it (docs/adr/0038). Under `agentshop
up --replicas` the saga may move in a replica: its notice reaches the sibling processes
over the wake-up sockets (`commerce/platform/wakeups.py`) and wakes the waiters there.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from commerce.platform import wakeups
from commerce.platform.consumer import MessageContext
from commerce.platform.runtime import Runtime
from commerce.platform.service import ServiceRuntime, Slot
from commerce.platform.waiters import Waiters

T = TypeVar("T")

MAX_WAIT_SECONDS = 30.0
"""The longest a request may wait (a longer `wait` is refused with 422)."""
APPEAR_SECONDS = 3.0
"""How long a request waits for a saga that does not exist yet to appear (a checkout
published and not picked up) before it answers that there is none: an id that is no
checkout at all is not held for the whole wait."""
RECHECK_SECONDS = 1.0
"""A waiting request reads again at least this often: the safety net for a notice that
did not come (a change by a process that is not a sibling, a sibling restarting)."""

CHANNEL = "checkout"
"""The wake-up sockets' channel of saga changes."""


def new_hub() -> Waiters[uuid.UUID]:
    """A runtime's hub, also woken by the siblings' notices (for as long as it lives)."""
    hub: Waiters[uuid.UUID] = Waiters()
    alive = weakref.ref(hub)

    def sibling_changed(key: str) -> None:
        found = alive()
        if found is None:  # its runtime is gone
            wakeups.off_change(CHANNEL, sibling_changed)
        else:
            found.notify(uuid.UUID(key))

    wakeups.on_change(CHANNEL, sibling_changed)
    return hub


CHANGES: Slot[Waiters[uuid.UUID]] = Slot(lambda runtime: new_hub())


def _changes(runtime: Runtime) -> Waiters[uuid.UUID] | None:
    return CHANGES.of(runtime) if isinstance(runtime, ServiceRuntime) else None


def notify(runtime: Runtime, checkout_ids: Iterable[uuid.UUID], state: str | None = None) -> None:
    """Wake the requests waiting for these sagas, here and in sibling processes (call it
    after the commit); `state`, when known, is the state the commit left them in."""
    ids = list(checkout_ids)
    hub = _changes(runtime)
    if hub is not None:
        hub.notify(*ids, hint=state)
    wakeups.changed(CHANNEL, (str(i) for i in ids))


def notify_after_commit(
    ctx: MessageContext, checkout_id: uuid.UUID, state: str | None = None
) -> None:
    """Wake the saga's waiters once the handler's transaction has committed (`state`:
    the state it leaves the saga in, when the handler knows it)."""
    if ctx.services is None:
        return
    runtime = ctx.services

    async def wake() -> None:
        notify(runtime, (checkout_id,), state)

    ctx.after_commit(wake)


async def wait_until(
    runtime: ServiceRuntime,
    checkout_id: uuid.UUID,
    read: Callable[[], Awaitable[T]],
    *,
    settled: Callable[[T], bool],
    mark: Callable[[T], Hashable],
    seconds: float,
    worth_reading: Callable[[T, Sequence[Hashable]], bool] | None = None,
) -> T:
    """`read()` at once, and again each time the saga changes, until what it reads is
    `settled`, its `mark` differs from the first read's, or `seconds` pass; the last read.
    With `worth_reading`, a change whose notices all said what it was (the states the
    commits left the saga in) is read only if `worth_reading(last read, those states)`.

    The watch is taken before the first read, so a commit between that read and the wait
    still wakes it. Each wait is bounded by `RECHECK_SECONDS` (a change made in another
    process is seen on the next read), and nothing is timed against the answer: a wait
    that ends answers what the saga is then."""
    if seconds <= 0:
        return await read()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    with CHANGES.of(runtime).watch(checkout_id) as watch:
        value = await read()
        read_at = loop.time()
        first = mark(value)
        while not settled(value):
            left = deadline - loop.time()
            if left <= 0:
                break
            notified = await watch.wait(min(left, RECHECK_SECONDS))
            hints = watch.hints()
            if (
                notified
                and hints is not None
                and worth_reading is not None
                and not worth_reading(value, hints)
                and loop.time() - read_at < RECHECK_SECONDS  # the safety net still holds
            ):
                continue  # told what changed, and none of it can end this wait
            value = await read()
            read_at = loop.time()
            if mark(value) != first:
                break
        return value
