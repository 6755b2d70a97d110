"""Busy polling: the event loop kept awake for a moment when its next event is near.

On this machine kind (a VM of 2 vCPUs) a process asleep in epoll_wait takes tens of µs to run
again once its socket is readable (its vCPU had halted), and a warm invoke put the server to sleep
twice: for the container's answer, and for the caller's next request. Polling (the loop's turns
with no timeout) for a short window after an event that is followed by another soon keeps it
awake for it, as Go's scheduler spins before it parks a thread and Linux's busy_poll does for
sockets; in paired rounds of sequential invokes it took 13-23 % off each (docs/benchmarks.md, the
ninth round). The cost is CPU: at most a window per such event, and none where the next event came
later than a window the last time (a slow action's /run, a caller that pauses between requests).
"""

from __future__ import annotations

import asyncio

DEFAULT_WINDOW_US = 500  # a warm no-op /run answers in 150-300 µs here; a client's next request as soon


class BusyPoll:
    """One per event loop (its process's): the loop polls until the latest window ends."""

    def __init__(self, window_us: int = DEFAULT_WINDOW_US) -> None:
        self.window_s = max(0, window_us) / 1e6
        self._until = 0.0
        self._polling = False

    def expect(self, loop: asyncio.AbstractEventLoop, last_wait_s: float | None) -> None:
        """An event that may be followed by another soon: poll for a window, unless the last
        wait for what follows it (None: unknown) took longer than one."""
        if self.window_s == 0 or (last_wait_s is not None and last_wait_s > self.window_s):
            return
        self._until = loop.time() + self.window_s
        if not self._polling:
            self._polling = True
            loop.call_soon(self._turn, loop)

    def _turn(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.time() < self._until:
            loop.call_soon(self._turn, loop)  # a ready callback: the loop's next poll does not sleep
        else:
            self._polling = False
