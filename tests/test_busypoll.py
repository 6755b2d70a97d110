"""Busy polling keeps the loop from sleeping for a window after an event, and only then: never
past the window, never where the last wait was longer than one, never when it is off."""

from __future__ import annotations

import asyncio
import time

from backend.busypoll import BusyPoll


async def polled(busy: BusyPoll) -> float:
    """How long the loop went on polling (each of its turns ready at once), in seconds."""
    started = time.perf_counter()

    async def until_idle() -> None:
        while busy._polling:
            await asyncio.sleep(0)

    await asyncio.wait_for(until_idle(), 1.0)
    return time.perf_counter() - started


async def test_the_loop_polls_for_the_window_and_then_sleeps_again() -> None:
    loop = asyncio.get_running_loop()
    busy = BusyPoll(window_us=20_000)
    busy.expect(loop, None)  # unknown: poll
    assert busy._polling
    assert 0.019 <= await polled(busy) < 0.5
    cpu_before = time.process_time()
    await asyncio.sleep(0.05)  # and now it sleeps: no CPU spent while nothing happens
    assert time.process_time() - cpu_before < 0.02


async def test_a_window_is_extended_by_the_next_event_not_doubled() -> None:
    loop = asyncio.get_running_loop()
    busy = BusyPoll(window_us=20_000)
    busy.expect(loop, None)
    await asyncio.sleep(0.01)
    busy.expect(loop, 0.001)  # a short last wait: poll, from now
    assert 0.015 <= await polled(busy) < 0.5


async def test_no_polling_after_a_wait_longer_than_the_window_or_when_off() -> None:
    loop = asyncio.get_running_loop()
    busy = BusyPoll(window_us=500)
    busy.expect(loop, 0.002)  # the last time, what followed came 2 ms later
    assert not busy._polling
    off = BusyPoll(window_us=0)
    off.expect(loop, None)
    assert not off._polling
