"""An invoker's standing with its controller on a durable bus (the other half of failover.py).

Each start of an invoker process is a new incarnation: it announces itself in its pings and takes
no work until the controller welcomes it with the activations it must not run (moved to other
invokers, or ended, while it was gone). An invoker that has not reached the bus for LEASE_S (it
was paused, or cut off) may have been given up for lost, its work moved elsewhere: before it
starts anything more it becomes a new incarnation and waits for a new welcome, naming what it is
still running so that those are not ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from .pooled import PooledContainer

log = logging.getLogger("squall.invoker")


class MovedAway(Exception):
    """The controller gave this activation to another invoker while this one was out of contact."""

    def __init__(self, container: PooledContainer | None) -> None:
        super().__init__()
        self.container = container


LEASE_S = 5.0  # under the bus's session timeout (6 s) and the controller's offline mark (10 s)
SEEN_MAX = 10_000  # activation ids an incarnation remembers, to run none twice if delivered twice


class Incarnation:
    def __init__(self, invoker_id: int, durable: bool) -> None:
        self.invoker_id = invoker_id
        self.durable = durable
        self.id = uuid.uuid4().hex
        self.welcomed = asyncio.Event()
        if not durable:  # the in-process bus starts empty every time: nothing to skip
            self.welcomed.set()
        self.skip: set[str] = set()
        self.started: set[str] = set()  # started by this process, its completion not yet on the bus
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._contact = time.monotonic()
        self._lapsed = False
        self._renewing = asyncio.Lock()

    def take(self, activation_id: str) -> bool:
        """Whether to run a delivered activation: not one to skip, not one delivered before."""
        if activation_id in self.skip or activation_id in self._seen:
            log.info("invoker%d skips activation %s: moved away, ended, or delivered twice",
                     self.invoker_id, activation_id)
            return False
        self._seen[activation_id] = None
        if len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)
        return True

    def welcome(self, command: dict[str, Any]) -> None:
        if command.get("incarnation") == self.id and not self.welcomed.is_set():
            self.skip.update(command.get("skip", []))
            self.welcomed.set()
            log.info("invoker%d welcomed (incarnation %s); it skips %d activation(s)", self.invoker_id,
                     self.id[:8], len(self.skip))

    def reached_bus(self) -> None:
        now = time.monotonic()
        if now - self._contact > LEASE_S:  # back after the lease ran out: that does not renew it
            self._lapsed = True
        self._contact = now

    def _lease_lapsed(self) -> bool:
        return self._lapsed or time.monotonic() - self._contact > LEASE_S

    async def may_start(self, activation_id: str, ping: Callable[[list[str]], Awaitable[None]]) -> bool:
        """Right before an action's code runs: False when it was moved away meanwhile."""
        if self.durable and self._lease_lapsed():
            await self._renew(ping)
        return activation_id not in self.skip

    async def _renew(self, ping: Callable[[list[str]], Awaitable[None]]) -> None:
        async with self._renewing:
            if not self._lease_lapsed():
                return  # another activation renewed it meanwhile
            self.id = uuid.uuid4().hex
            self.welcomed.clear()
            log.warning("invoker%d was out of contact for over %.0fs; it waits for its controller as "
                        "incarnation %s", self.invoker_id, LEASE_S, self.id[:8])
            while not self.welcomed.is_set():
                try:
                    await ping(sorted(self.started))
                except Exception as ex:
                    log.warning("invoker%d could not send its ping: %s", self.invoker_id, ex)
                try:
                    await asyncio.wait_for(self.welcomed.wait(), 1.0)
                except TimeoutError:
                    pass
            self._lapsed = False
            self._contact = time.monotonic()
