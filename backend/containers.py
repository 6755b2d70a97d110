"""The invoker's container pool, with OpenWhisk's placement rules.

Placement: a warm idle container of the same action version, else a prewarmed container of the same
kind and memory, or one of more memory with its limit lowered (never for a blackbox action: its
container is made from its own image), else a cold start if memory allows, else evict idle
containers and start, else wait in a FIFO queue. Idle containers go after `idle_timeout`;
prewarmed ones are refilled in the background.

At most `max_starts` cold starts run at once: under a spike, a few containers that are up soon
serve the queue (a waiter takes the first container that frees up, or the next start) while the
pool grows toward its memory, rather than every start sharing the CPU and none being up for
seconds.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from typing import Any, Callable

from .pooled import BUSY, PREWARM, WARM, PooledContainer, Waiter
from .pool_upkeep import Upkeep
from .prewarm_policy import LearnedPrewarm
from .runtimes import Runtime

log = logging.getLogger("squall.pool")

# Cold starts at once: they are CPU-bound (the engine, runc, the proxy's start), so one per core
# (at least 2); on 2 cores 2 served a spike better than 4 or 16 (docs/benchmarks.md).
MAX_STARTS = max(2, os.cpu_count() or 2)


class ContainerPool(Upkeep):
    def __init__(self, runtime: Runtime, *, user_memory_mb: int = 2048, idle_timeout_s: float = 600.0,
                 prewarm: dict[tuple[str, int], int] | None = None,
                 labels: dict[str, str] | None = None, max_starts: int = MAX_STARTS,
                 learned_prewarm: bool = False) -> None:
        self.runtime = runtime
        self.max_starts = max(1, max_starts)
        self._starting = 0  # cold starts under way
        self.user_memory_mb = user_memory_mb
        self.idle_timeout_s = idle_timeout_s
        self.prewarm_config = dict(prewarm or {})
        self.learned = LearnedPrewarm(idle_timeout_s) if learned_prewarm else None
        self.labels = labels or {}
        self.containers: dict[str, PooledContainer] = {}
        # Idle warm containers by action, the most recently used last: a lookup need not scan the
        # whole pool (a hundred actions kept warm are a few hundred containers).
        self._warm: dict[str, list[PooledContainer]] = {}
        self._reserved_mb = 0  # memory of containers being created
        self._queue: deque[Waiter] = deque()
        self._prewarm_pending: dict[tuple[str, int], int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._closing = False
        self.cold_starts = 0
        self.prewarm_starts = 0
        self.on_change: Callable[[], None] = lambda: None  # the invoker reports the pool when it changes

    # --- accounting ---------------------------------------------------------------------------

    @property
    def used_mb(self) -> int:
        return self._reserved_mb + sum(c.memory_mb for c in self.containers.values())

    def _free_mb(self) -> int:
        return self.user_memory_mb - self.used_mb

    def describe(self) -> list[dict[str, Any]]:
        return [c.describe() for c in self.containers.values()]

    @property
    def queued(self) -> int:
        return len(self._queue)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_idle())
        self._refill_prewarm()

    async def stop(self) -> None:
        self._closing = True
        if self.learned is not None:
            self.learned.close()
        if self._reaper:
            self._reaper.cancel()
        for task in list(self._tasks):
            task.cancel()
        while self._queue:
            waiter = self._queue.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(RuntimeError("the container pool is shutting down"))
        await asyncio.gather(*(c.container.destroy() for c in list(self.containers.values())),
                             return_exceptions=True)
        self.containers.clear()
        self._warm.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- placement ----------------------------------------------------------------------------

    async def acquire(self, key: str, kind: str, memory_mb: int, network: bool = False,
                      image: str | None = None) -> tuple[PooledContainer, bool]:
        """A busy container for the action `key`, and whether it still needs /init (a cold start).
        `image` is a blackbox action's: its containers come from that image, never from prewarm.

        Raises when no container could be provisioned; waits (FIFO) while the pool is full.
        """
        if memory_mb > self.user_memory_mb:
            raise ProvisionError(f"the action needs {memory_mb} MB but the invoker has {self.user_memory_mb} MB")
        if self.learned is None:
            return await self._acquire(key, kind, memory_mb, network, image)
        self.learned.arrived(key, time.monotonic())
        try:
            c, cold = await self._acquire(key, kind, memory_mb, network, image)
        except BaseException:
            self.learned.ended(key, time.monotonic())
            raise
        c.serving = key
        return c, cold

    async def _acquire(self, key: str, kind: str, memory_mb: int, network: bool,
                       image: str | None) -> tuple[PooledContainer, bool]:
        if not self._queue:
            placed = self._place_now(key, kind, memory_mb, network, image)
            if placed is not None:
                return await placed
        waiter = Waiter(key, kind, memory_mb, network, image, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        return await waiter.future

    def take_warm(self, key: str) -> PooledContainer | None:
        """An idle warm container of the action `key`, busy now, if one is there and nothing queues
        before it (acquire's first choice, for a caller that cannot await)."""
        warm = None if self._queue else self._warm.get(key)
        if not warm:
            return None
        c = self._take(warm[-1])
        if self.learned is not None:
            self.learned.arrived(key, time.monotonic())
            c.serving = key
        return c

    def _place_now(self, key: str, kind: str, memory_mb: int, network: bool, image: str | None) -> Any:
        """An awaitable for a container if one can be had without waiting, else None."""
        warm = self._warm.get(key)
        if warm:
            return self._done(self._take(warm[-1]), False)
        if not network and image is None:
            prewarmed = self._prewarmed(kind, memory_mb)
            if prewarmed is not None:
                self._take(prewarmed)
                self._refill_prewarm()
                if prewarmed.memory_mb == memory_mb:
                    return self._done(prewarmed, True)
                return self._shrink(prewarmed, key, kind, memory_mb)
        if self._starting >= self.max_starts:
            return None  # it waits for the first container to free up, or for the next start
        if self._free_mb() < memory_mb:
            self._evict_idle(memory_mb - self._free_mb())
        if self._free_mb() >= memory_mb:
            self._reserved_mb += memory_mb
            self._starting += 1
            return self._cold_start(key, kind, memory_mb, network, image)
        return None

    def _prewarmed(self, kind: str, memory_mb: int) -> PooledContainer | None:
        """A prewarmed container of the kind with just this memory, else the smallest of more
        whose limit can be lowered to it."""
        larger: PooledContainer | None = None
        for c in self.containers.values():
            if c.state != PREWARM or c.kind != kind:
                continue
            if c.memory_mb == memory_mb:
                return c
            if c.memory_mb > memory_mb and c.container.resizable and (larger is None or c.memory_mb < larger.memory_mb):
                larger = c
        return larger

    async def _shrink(self, c: PooledContainer, key: str, kind: str, memory_mb: int) -> tuple[PooledContainer, bool]:
        """A larger prewarmed container for an action that asks less: its limit lowered (24-36 ms
        on Docker here, where a cold start takes ~130 ms and ~170 ms of CPU), then what it gave
        back is free for the next container."""
        try:
            await c.container.resize(memory_mb)
        except Exception:
            log.exception("could not lower the memory of prewarmed container %s", c.id)
            self._remove(c)  # in a state nobody knows: an action gets a container of its own instead
            return await self.acquire(key, kind, memory_mb)
        c.memory_mb = memory_mb
        self.on_change()
        self._dispatch()
        return c, True

    @staticmethod
    async def _done(c: PooledContainer, cold: bool) -> tuple[PooledContainer, bool]:
        return c, cold

    def _idle_warm(self, c: PooledContainer) -> None:
        self._unlist(c)
        c.state = WARM
        if c.action is not None:
            self._warm.setdefault(c.action, []).append(c)

    def _unlist(self, c: PooledContainer) -> None:
        warm = self._warm.get(c.action) if c.state == WARM and c.action is not None else None
        if warm is None:
            return
        if warm[-1] is c:  # the one a warm acquire takes: no scan
            warm.pop()
        elif c in warm:
            warm.remove(c)
        if not warm:
            del self._warm[c.action]  # type: ignore[arg-type]

    def _take(self, c: PooledContainer) -> PooledContainer:
        self._unlist(c)
        c.state = BUSY
        c.expires = None
        c.last_used = time.monotonic()
        self.on_change()
        return c

    def _evict_idle(self, needed_mb: int) -> None:
        """Remove idle containers, least recently used first, until `needed_mb` is free."""
        idle = sorted((c for c in self.containers.values() if c.state in (WARM, PREWARM)),
                      key=lambda c: (c.state == PREWARM, c.last_used))
        if sum(c.memory_mb for c in idle) < needed_mb:
            return  # evicting would not make room; keep them warm and queue instead
        freed = 0
        for c in idle:
            if freed >= needed_mb:
                break
            freed += c.memory_mb
            self._remove(c)

    async def _cold_start(self, key: str, kind: str, memory_mb: int, network: bool,
                          image: str | None) -> tuple[PooledContainer, bool]:
        try:
            container = await self.runtime.create(kind, memory_mb, network=network,
                                                  labels={**self.labels, "squall.action": key}, image=image)
        except BaseException:
            self._reserved_mb -= memory_mb
            self._starting -= 1
            self._dispatch()
            raise
        self._reserved_mb -= memory_mb
        self._starting -= 1
        self.cold_starts += 1
        pooled = PooledContainer(container, kind, memory_mb, BUSY, image=image, network=network)
        self.containers[pooled.id] = pooled
        self.on_change()
        self._dispatch()  # a start slot is free: the next waiter may start one
        return pooled, True

    def _dispatch(self) -> None:
        """Serve queued requests in order while they can be placed."""
        while self._queue and not self._closing:
            waiter = self._queue[0]
            if waiter.future.done():
                self._queue.popleft()
                continue
            placed = self._place_now(waiter.key, waiter.kind, waiter.memory_mb, waiter.network, waiter.image)
            if placed is None:
                return
            self._queue.popleft()
            self._spawn(self._resolve(waiter, placed))

    async def _resolve(self, waiter: Waiter, placed: Any) -> None:
        try:
            result = await placed
        except BaseException as ex:
            if not waiter.future.done():
                waiter.future.set_exception(ex if isinstance(ex, Exception) else ProvisionError(str(ex)))
            return
        if waiter.future.done():  # the waiter gave up; put the container back
            c, _ = result
            if c.action is None and c.image is not None:  # a blackbox container nobody initialized
                self._remove(c)
                return
            if c.action:
                self._idle_warm(c)
            else:
                c.state = PREWARM
            return
        waiter.future.set_result(result)

    def release(self, c: PooledContainer, key: str | None) -> None:
        """Back to the pool, warm for `key` (the action it was initialized with)."""
        c.action = key
        self._idle_warm(c)
        c.activation_id = None
        c.last_used = time.monotonic()
        self._ended(c)
        self.on_change()
        self._dispatch()

    def _remove(self, c: PooledContainer) -> None:
        self._unlist(c)
        self.containers.pop(c.id, None)
        self.on_change()
        self._spawn(self._destroy(c))

    async def _destroy(self, c: PooledContainer) -> None:
        try:
            await c.container.destroy()
        except Exception:
            log.exception("could not destroy container %s", c.id)

    async def discard(self, c: PooledContainer) -> None:
        """Destroy a container after a developer or system error; its memory returns to the pool."""
        self._unlist(c)
        self.containers.pop(c.id, None)
        self._ended(c)
        self.on_change()
        await self._destroy(c)
        self._dispatch()
        self._refill_prewarm()


class ProvisionError(Exception):
    """No container could be made for the action."""
