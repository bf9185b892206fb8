"""`raise_if_cancelled`: a loop's `except Exception` does not swallow a cancellation that
reached it as another error (a transaction that could not roll back on the way out)."""

from __future__ import annotations

import asyncio

import pytest

from commerce.platform.tasks import raise_if_cancelled


async def test_an_error_on_the_way_out_of_a_cancel_stops_the_loop() -> None:
    rounds = 0
    started = asyncio.Event()

    async def loop() -> None:
        nonlocal rounds
        while True:
            rounds += 1
            try:
                try:
                    started.set()
                    await asyncio.sleep(30)
                except asyncio.CancelledError:
                    raise RuntimeError("the connection is closed") from None  # cleanup failed
            except Exception as exc:
                raise_if_cancelled(exc)
                await asyncio.sleep(0)  # an ordinary failure: go round again

    task = asyncio.create_task(loop())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert rounds == 1


async def test_an_ordinary_failure_is_left_to_the_loop() -> None:
    try:
        raise RuntimeError("the database is away")
    except RuntimeError as exc:
        raise_if_cancelled(exc)  # not cancelled: returns
