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
from dataclasses import dataclass, field
from typing import Any, Callable

from .runtimes import Container, Runtime

log = logging.getLogger("squall.pool")

# Cold starts at once: they are CPU-bound (the engine, runc, the proxy's start), so one per core
# (at least 2); on 2 cores 2 served a spike better than 4 or 16 (docs/benchmarks.md).
MAX_STARTS = max(2, os.cpu_count() or 2)
PREWARM = "prewarm"
WARM = "warm"
BUSY = "busy"


@dataclass(eq=False)
class PooledContainer:
    container: Container
    kind: str
    memory_mb: int
    state: str
    action: str | None = None  # "namespace/name@version" once initialized
    created: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.monotonic)
    activation_id: str | None = None
    activations: int = 0
    image: str | None = None  # a blackbox action's image: such a container is never prewarm
    last_run_s: float | None = None  # how long its last /run sent early took to answer (BusyPoll)

    @property
    def id(self) -> str:
        return self.container.id

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "action": self.action, "state": self.state, "kind": self.kind,
                "memory": self.memory_mb, "created": int(self.created * 1000),
                "age": round(time.time() - self.created, 3), "activationId": self.activation_id,
                "activations": self.activations}


@dataclass(eq=False)
class _Waiter:
    key: str
    kind: str
    memory_mb: int
    network: bool
    image: str | None
    future: asyncio.Future[tuple[PooledContainer, bool]]


class ContainerPool:
    def __init__(self, runtime: Runtime, *, user_memory_mb: int = 2048, idle_timeout_s: float = 600.0,
                 prewarm: dict[tuple[str, int], int] | None = None,
                 labels: dict[str, str] | None = None, max_starts: int = MAX_STARTS) -> None:
        self.runtime = runtime
        self.max_starts = max(1, max_starts)
        self._starting = 0  # cold starts under way
        self.user_memory_mb = user_memory_mb
        self.idle_timeout_s = idle_timeout_s
        self.prewarm_config = dict(prewarm or {})
        self.labels = labels or {}
        self.containers: dict[str, PooledContainer] = {}
        # Idle warm containers by action, the most recently used last: a lookup need not scan the
        # whole pool (a hundred actions kept warm are a few hundred containers).
        self._warm: dict[str, list[PooledContainer]] = {}
        self._reserved_mb = 0  # memory of containers being created
        self._queue: deque[_Waiter] = deque()
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
        if not self._queue:
            placed = self._place_now(key, kind, memory_mb, network, image)
            if placed is not None:
                return await placed
        waiter = _Waiter(key, kind, memory_mb, network, image, asyncio.get_running_loop().create_future())
        self._queue.append(waiter)
        return await waiter.future

    def take_warm(self, key: str) -> PooledContainer | None:
        """An idle warm container of the action `key`, busy now, if one is there and nothing queues
        before it (acquire's first choice, for a caller that cannot await)."""
        warm = None if self._queue else self._warm.get(key)
        return self._take(warm[-1]) if warm else None

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
        pooled = PooledContainer(container, kind, memory_mb, BUSY, image=image)
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

    async def _resolve(self, waiter: _Waiter, placed: Any) -> None:
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
        self.on_change()
        await self._destroy(c)
        self._dispatch()
        self._refill_prewarm()

    # --- prewarm and idle ---------------------------------------------------------------------

    def _refill_prewarm(self) -> None:
        if self._closing:
            return
        for (kind, memory_mb), count in self.prewarm_config.items():
            have = sum(1 for c in self.containers.values()
                       if c.state == PREWARM and c.kind == kind and c.memory_mb == memory_mb)
            pending = self._prewarm_pending.get((kind, memory_mb), 0)
            for _ in range(count - have - pending):
                if self._free_mb() < memory_mb or self._queue:
                    return
                self._reserved_mb += memory_mb
                self._prewarm_pending[(kind, memory_mb)] = self._prewarm_pending.get((kind, memory_mb), 0) + 1
                self._spawn(self._start_prewarm(kind, memory_mb))

    async def _start_prewarm(self, kind: str, memory_mb: int) -> None:
        try:
            container = await self.runtime.create(kind, memory_mb,
                                                  labels={**self.labels, "squall.action": "prewarm"})
        except Exception:
            log.exception("could not start a prewarmed %s container", kind)
            return
        finally:
            self._reserved_mb -= memory_mb
            self._prewarm_pending[(kind, memory_mb)] -= 1
        self.prewarm_starts += 1
        pooled = PooledContainer(container, kind, memory_mb, PREWARM)
        self.containers[pooled.id] = pooled
        self.on_change()
        self._dispatch()

    async def _reap_idle(self) -> None:
        interval = max(0.05, min(self.idle_timeout_s / 4, 10.0))
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            idle = [c for c in self.containers.values() if c.state == WARM and now - c.last_used > self.idle_timeout_s]
            for c in idle:
                log.info("removing idle container %s (%s)", c.id, c.action)
                self._remove(c)
                self._dispatch()
            if idle:  # the memory they held may be what the prewarmed ones were evicted for
                self._refill_prewarm()


class ProvisionError(Exception):
    """No container could be made for the action."""
