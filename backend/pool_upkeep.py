"""What the container pool keeps ready, and for how long: the prewarmed containers it is
configured with, refilled; idle containers removed after the idle timeout; and, with the learned
policy on, each action's windows (prewarm_policy.py). A part of ContainerPool (containers.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from .pooled import PREWARM, WARM, PooledContainer, Waiter
from .prewarm_policy import LearnedPrewarm, Windows
from .runtimes import Runtime

log = logging.getLogger("squall.pool")


class Upkeep:
    if TYPE_CHECKING:  # the pool's state this part reads and keeps (ContainerPool sets it up)
        runtime: Runtime
        user_memory_mb: int
        idle_timeout_s: float
        prewarm_config: dict[tuple[str, int], int]
        labels: dict[str, str]
        containers: dict[str, PooledContainer]
        learned: LearnedPrewarm | None
        prewarm_starts: int
        on_change: Callable[[], None]
        _warm: dict[str, list[PooledContainer]]
        _reserved_mb: int
        _queue: deque[Waiter]
        _prewarm_pending: dict[tuple[str, int], int]
        _closing: bool

        def _free_mb(self) -> int: ...
        def _spawn(self, coro: Any) -> None: ...
        def _remove(self, c: PooledContainer) -> None: ...
        def _dispatch(self) -> None: ...

    def _refill_prewarm(self) -> None:
        if self._closing:
            return
        for (kind, memory_mb), count in self.prewarm_config.items():
            have = sum(1 for c in self.containers.values()  # those the policy brought back go on their own
                       if c.state == PREWARM and c.kind == kind and c.memory_mb == memory_mb and c.expires is None)
            pending = self._prewarm_pending.get((kind, memory_mb), 0)
            for _ in range(count - have - pending):
                if self._free_mb() < memory_mb or self._queue:
                    return
                self._reserved_mb += memory_mb
                self._prewarm_pending[(kind, memory_mb)] = self._prewarm_pending.get((kind, memory_mb), 0) + 1
                self._spawn(self._start_prewarm(kind, memory_mb))

    async def _start_prewarm(self, kind: str, memory_mb: int, expires: float | None = None) -> None:
        try:
            container = await self.runtime.create(kind, memory_mb,
                                                  labels={**self.labels, "squall.action": "prewarm"})
        except Exception:
            log.exception("could not start a prewarmed %s container", kind)
            return
        finally:
            self._reserved_mb -= memory_mb
            if expires is None:
                self._prewarm_pending[(kind, memory_mb)] -= 1
        self.prewarm_starts += 1
        pooled = PooledContainer(container, kind, memory_mb, PREWARM, expires=expires)
        self.containers[pooled.id] = pooled
        self.on_change()
        self._dispatch()

    async def _reap_idle(self) -> None:
        interval = max(0.05, min(self.idle_timeout_s / 4, 10.0))
        if self.learned is not None:  # its windows are as fine as its bins
            interval = max(0.05, min(interval, self.learned.bin_s))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            idle = [c for c in self.containers.values() if c.state in (WARM, PREWARM) and
                    (now > c.expires if c.expires is not None else
                     c.state == WARM and now - c.last_used > self.idle_timeout_s)]
            for c in idle:
                log.info("removing idle container %s (%s)", c.id, c.action or c.state)
                self._remove(c)
                self._dispatch()
            if idle:  # the memory they held may be what the prewarmed ones were evicted for
                self._refill_prewarm()
            if self.learned is not None:
                self.learned.prune(now)

    # --- the learned policy (prewarm_policy.py) -----------------------------------------------

    def _ended(self, c: PooledContainer) -> None:
        key, c.serving = c.serving, None
        if self.learned is None or key is None:
            return
        now = time.monotonic()
        windows = self.learned.ended(key, now)
        if windows is not None:
            self._went_idle(key, c.kind, c.memory_mb, windows, now)

    def _went_idle(self, key: str, kind: str, memory_mb: int, windows: Windows, now: float) -> None:
        """The action's last activation ended: keep its warm containers through the keep-alive
        window, or remove them now and bring as many prewarmed ones back when it is expected."""
        warm = list(self._warm.get(key, ()))
        if windows.prewarm_s == 0 or any(c.image is not None or c.network for c in warm):  # no prewarmed one serves those
            for c in warm:
                c.expires = now + windows.keep_alive_s
            return
        for c in warm:
            self._remove(c)
        if warm and self.learned is not None and not self._closing:
            self.learned.schedule(key, asyncio.get_running_loop().call_later(
                windows.prewarm_s, self._bring_back, key, kind, memory_mb, len(warm), now + windows.keep_alive_s))

    def _bring_back(self, key: str, kind: str, memory_mb: int, count: int, expires: float) -> None:
        if self.learned is not None:
            self.learned.scheduled_done(key)
        for _ in range(count):  # only into free memory: a forecast evicts nothing
            if self._closing or self._queue or self._free_mb() < memory_mb:
                return
            self._reserved_mb += memory_mb
            self._spawn(self._start_prewarm(kind, memory_mb, expires))
