"""OpenWhisk's sharding load balancer: home invoker by hash, co-prime stepping, memory slots, health.

Invoker health comes from pings on the `health` topic and from the completions it sends: no ping
for 10 s is offline; more than 3 system errors in the last 10 results is unhealthy; more than 3 ack
timeouts in the last 10 is unresponsive.
"""

from __future__ import annotations

import asyncio
import functools
import math
import random
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

from .bus import Bus, invoker_topic
from .messages import ActivationMessage, PingMessage

HEALTHY = "healthy"
UNHEALTHY = "unhealthy"
UNRESPONSIVE = "unresponsive"
OFFLINE = "offline"

OFFLINE_AFTER_S = 10.0


@dataclass
class InvokerHealth:
    id: int
    user_memory_mb: int
    last_ping: float = field(default_factory=time.monotonic)
    status: dict[str, Any] = field(default_factory=dict)
    used_mb: int = 0  # slots taken by this controller's in-flight activations
    inflight: int = 0
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=10))  # "ok", "system", "timeout"

    def state(self, now: float) -> str:
        if now - self.last_ping > OFFLINE_AFTER_S:
            return OFFLINE
        if self.recent.count("system") > 3:
            return UNHEALTHY
        if self.recent.count("timeout") > 3:
            return UNRESPONSIVE
        return HEALTHY


@dataclass
class Inflight:
    message: ActivationMessage
    invoker: int
    memory_mb: int
    timeout_ms: int
    meta: dict[str, Any]
    waiter: asyncio.Future[dict[str, Any]]
    counted: bool = True  # holds one of its namespace's concurrent slots (a sequence's parts do not)
    probe: bool = False  # a health test activation (see health.py): no record, only its outcome
    started: bool = False  # its invoker said it began to run the action (see failover.py)
    restored: bool = False  # taken over from an earlier run of the controller: whether it started is unknown
    timer: asyncio.TimerHandle | None = None
    waiting: Callable[[dict[str, Any]], None] | None = None  # the blocking caller's (Accepted.wait)

    def answer(self, record: dict[str, Any]) -> None:
        """The record to whoever waits for it; the blocking caller in this very step (through the
        waiter's own callbacks it woke two loop turns later)."""
        if not self.waiter.done():
            self.waiter.set_result(record)
        if self.waiting is not None:
            self.waiting(record)


class NoInvokers(Exception):
    pass


def home_hash(namespace: str, name: str) -> int:
    """Where an action lives: its home invoker is this modulo the number of invokers."""
    return zlib.crc32(f"{namespace}/{name}".encode())


@functools.cache
def step_sizes(n: int) -> list[int]:
    """Step sizes co-prime to n, so stepping from any home visits every invoker once."""
    return [s for s in range(1, n + 1) if math.gcd(s, n) == 1] or [1]


class LoadBalancer:
    def __init__(self, bus: Bus, *, forced_completion: Callable[[Inflight], Any],
                 ack_min_s: float = 60.0, ack_extra_s: float = 60.0) -> None:
        self.bus = bus
        self.invokers: dict[int, InvokerHealth] = {}
        self._ordered: list[InvokerHealth] = []  # by id, as the hash places actions; see choose
        self.inflight: dict[str, Inflight] = {}
        self.forced_completion = forced_completion
        self.ack_min_s = ack_min_s
        self.ack_extra_s = ack_extra_s

    # --- health -------------------------------------------------------------------------------

    def on_ping(self, ping: PingMessage) -> bool:
        """Take an invoker's ping; False when it is too old to say anything about now."""
        age_s = max(0.0, (time.time() * 1000 - ping.sent) / 1000)
        if age_s > OFFLINE_AFTER_S:
            return False  # replayed from the topic after a restart
        inv = self.invokers.get(ping.invoker)
        if inv is None:
            inv = self.invokers[ping.invoker] = InvokerHealth(ping.invoker, ping.user_memory_mb)
            self._ordered = [self.invokers[i] for i in sorted(self.invokers)]
            mine = [e for e in self.inflight.values() if e.invoker == ping.invoker]  # restored ones
            inv.used_mb, inv.inflight = sum(e.memory_mb for e in mine), len(mine)
        inv.user_memory_mb = ping.user_memory_mb
        inv.last_ping = time.monotonic() - age_s
        inv.status = ping.status
        return True

    def mark_offline(self, invoker_id: int) -> None:
        """Send it nothing more: it is gone (it shows up again with its next ping)."""
        inv = self.invokers.get(invoker_id)
        if inv is not None:
            inv.last_ping = min(inv.last_ping, time.monotonic() - OFFLINE_AFTER_S - 1)

    def states(self) -> dict[int, str]:
        now = time.monotonic()
        return {i: inv.state(now) for i, inv in sorted(self.invokers.items())}

    def healthy(self) -> list[InvokerHealth]:
        now = time.monotonic()
        return [inv for inv in self.invokers.values() if inv.state(now) == HEALTHY]

    # --- scheduling ---------------------------------------------------------------------------

    def choose(self, namespace: str, action_path: str, memory_mb: int) -> InvokerHealth:
        ordered = self._ordered
        n = len(ordered)
        if n == 0:
            raise NoInvokers()
        now = time.monotonic()
        h = home_hash(namespace, action_path)
        home = h % n
        steps = step_sizes(n)
        step = steps[h % len(steps)]
        for i in range(n):  # the first healthy one with room, its health judged only when it is next
            inv = ordered[(home + i * step) % n]
            if inv.user_memory_mb - inv.used_mb >= memory_mb and inv.state(now) == HEALTHY:
                return inv
        healthy = [inv for inv in ordered if inv.state(now) == HEALTHY]
        if not healthy:
            raise NoInvokers()
        return random.choice(healthy)  # overload

    async def publish(self, message: ActivationMessage, invoker: InvokerHealth, memory_mb: int,
                      timeout_ms: int, meta: dict[str, Any], counted: bool = True,
                      probe: bool = False) -> Inflight:
        loop = asyncio.get_running_loop()
        entry = Inflight(message, invoker.id, memory_mb, timeout_ms, meta, loop.create_future(), counted, probe)
        self.inflight[message.activation_id] = entry
        invoker.used_mb += memory_mb
        invoker.inflight += 1
        entry.timer = loop.call_later(self.forced_after_s(timeout_ms), self._force, message.activation_id)
        try:
            await self.bus.publish(invoker_topic(invoker.id), message, message.activation_id.encode())
        except BaseException:
            self.release(message.activation_id)
            raise
        return entry

    def restore(self, message: ActivationMessage, invoker_id: int, memory_mb: int, timeout_ms: int,
                meta: dict[str, Any]) -> Inflight:
        """An activation an earlier run of the controller published: in flight again, its forced ack
        counted from when it was accepted."""
        loop = asyncio.get_running_loop()
        entry = Inflight(message, invoker_id, memory_mb, timeout_ms, meta, loop.create_future(), counted=False,
                         restored=True)
        self.inflight[message.activation_id] = entry
        inv = self.invokers.get(invoker_id)
        if inv is not None:
            inv.used_mb += memory_mb
            inv.inflight += 1
        elapsed = max(0.0, (time.time() * 1000 - message.accepted) / 1000)
        entry.timer = loop.call_later(max(0.0, self.forced_after_s(timeout_ms) - elapsed), self._force,
                                      message.activation_id)
        return entry

    async def reassign(self, entry: Inflight, invoker: InvokerHealth) -> None:
        """Send an activation its invoker never started to another one (the same message, the same
        waiter); its forced ack starts again."""
        old = self.invokers.get(entry.invoker)
        if old is not None:
            old.used_mb -= entry.memory_mb
            old.inflight -= 1
        entry.invoker = invoker.id
        invoker.used_mb += entry.memory_mb
        invoker.inflight += 1
        if entry.timer:
            entry.timer.cancel()
        entry.timer = asyncio.get_running_loop().call_later(
            self.forced_after_s(entry.timeout_ms), self._force, entry.message.activation_id)
        await self.bus.publish(invoker_topic(invoker.id), entry.message,
                               entry.message.activation_id.encode())

    def forced_after_s(self, timeout_ms: int) -> float:
        return max(timeout_ms / 1000, self.ack_min_s) * 2 + self.ack_extra_s

    def release(self, activation_id: str, outcome: str | None = None) -> Inflight | None:
        """Free the slot of a completed activation; None if it was not (or no longer) in flight."""
        entry = self.inflight.pop(activation_id, None)
        if entry is None:
            return None
        if entry.timer:
            entry.timer.cancel()
        inv = self.invokers.get(entry.invoker)
        if inv is not None:
            inv.used_mb -= entry.memory_mb
            inv.inflight -= 1
        if outcome:
            self.record_outcome(entry.invoker, outcome)
        return entry

    def record_outcome(self, invoker: int, outcome: str) -> None:
        inv = self.invokers.get(invoker)
        if inv is not None:
            inv.recent.append(outcome)

    def _force(self, activation_id: str) -> None:
        entry = self.release(activation_id, "timeout")
        if entry is not None:
            self.forced_completion(entry)

    def inflight_by_namespace(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.inflight.values():
            counts[entry.message.subject] = counts.get(entry.message.subject, 0) + 1
        return counts
